"""The account link: link token → Tsunagu's page (a mailed code) → nonce → LINE's accountLink event → linked."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.factories import consenting_customer, line_user_id
from touchpoints.outreach.line import client as line
from touchpoints.outreach.line.events import line_events_process, line_user_unlink
from touchpoints.outreach.models import LineUser, OutboundMessage

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_broker(published, monkeypatch):
    monkeypatch.setattr("touchpoints.outreach.line.webhook._publish", lambda ids: None)


def _link_token(user_id: str) -> str:
    with line.Client() as api:
        return api.link_token(user_id)


def _webhook(client, standin, event) -> None:
    body, signature = standin.signed([event])
    client.post("/line/webhook/", data=body, content_type="application/json", headers={"x-line-signature": signature})
    line_events_process()


def test_a_customer_proves_their_address_and_is_linked(client, line_standin):
    # given a customer on file and a LINE user who follows the account and opened the link page
    customer = consenting_customer(email="hanako@example.com")
    _webhook(client, line_standin, line_standin.follow(line_user_id(1)))
    token = _link_token(line_user_id(1))
    page = client.get(f"/line/link/?linkToken={token}")
    assert page.status_code == 200
    # when they give their address, and the code mailed to it
    client.post("/line/link/", {"linkToken": token, "email": "HANAKO@example.com"})
    mail = OutboundMessage.objects.get(customer=customer, source_ref="line-link")
    code = re.search(r"\b(\d{6})\b", mail.body).group(1)
    answer = client.post("/line/link/code/", {"linkToken": token, "code": code})
    # then the browser goes to LINE's link dialog with a nonce, and LINE's accountLink event links them
    assert answer.status_code == 302
    target = urlsplit(answer["Location"])
    assert target.path == "/dialog/bot/accountLink"
    nonce = parse_qs(target.query)["nonce"][0]
    _webhook(client, line_standin, line_standin.account_link(line_user_id(1), nonce))
    user = LineUser.objects.get(user_id=line_user_id(1))
    assert user.customer == customer and user.linked_at is not None
    # and the nonce works once
    _webhook(client, line_standin, line_standin.account_link(line_user_id(2), nonce))
    assert not LineUser.objects.filter(user_id=line_user_id(2), customer__isnull=False).exists()
    # unlinking keeps the contact, without the customer
    line_user_unlink(line_user=user)
    user.refresh_from_db()
    assert user.customer is None and user.unlinked_at is not None


def test_an_unknown_address_gets_the_same_answer_and_no_mail(client, line_standin):
    token = _link_token(line_user_id(1))
    answer = client.post("/line/link/", {"linkToken": token, "email": "nobody@example.com"})
    assert answer.status_code == 200 and b"line-code" in answer.content
    assert not OutboundMessage.objects.exists()


def test_a_wrong_code_is_refused_and_five_tries_end_the_request(client, line_standin):
    consenting_customer(email="hanako@example.com")
    token = _link_token(line_user_id(1))
    client.post("/line/link/", {"linkToken": token, "email": "hanako@example.com"})
    code = re.search(r"\b(\d{6})\b", OutboundMessage.objects.get().body).group(1)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        assert client.post("/line/link/code/", {"linkToken": token, "code": wrong}).status_code == 400
    # the right code no longer works
    assert client.post("/line/link/code/", {"linkToken": token, "code": code}).status_code in (400, 429)


def test_the_link_page_without_a_token_is_a_clear_400(client, line_standin):
    assert client.get("/line/link/").status_code == 400


# --- The member number and birth date (registered by loyalty) ----------------------------------------------------


def _member(birth_date="1990-04-01"):
    from tests.factories import member_join

    customer = consenting_customer(email="taro@example.com", birth_date=birth_date)
    return member_join(customer=customer)


def _proof(client, token, number, birth_date):
    return client.post(
        "/line/link/proof/member/",
        {"linkToken": token, "member-member_number": number, "member-birth_date": birth_date},
    )


def test_a_member_proves_who_they_are_with_number_and_birth_date(client, line_standin):
    # given a member, and a LINE user who opened the link page
    membership = _member()
    token = _link_token(line_user_id(3))
    page = client.get(f"/line/link/?linkToken={token}")
    assert b"member-member_number" in page.content
    # when they give their member number (typed with spaces) and birth date
    answer = _proof(client, token, " ".join(membership.member_number), "1990-04-01")
    # then LINE's link dialog gets a nonce, and the accountLink event links them; no mail was needed
    assert answer.status_code == 302
    nonce = parse_qs(urlsplit(answer["Location"]).query)["nonce"][0]
    _webhook(client, line_standin, line_standin.account_link(line_user_id(3), nonce))
    assert LineUser.objects.get(user_id=line_user_id(3)).customer == membership.customer
    assert not OutboundMessage.objects.exists()


def test_a_wrong_number_and_a_wrong_date_get_the_same_answer(client, line_standin):
    membership = _member()
    token = _link_token(line_user_id(3))
    wrong_date = _proof(client, token, membership.member_number, "1990-04-02")
    wrong_number = _proof(client, token, "1234567890", "1990-04-01")
    assert wrong_date.status_code == wrong_number.status_code == 400
    for answer in (wrong_date, wrong_number):  # one sentence, on no field in particular
        assert b'id="line-proof-wrong"' in answer.content and b"errorlist" not in answer.content


def test_guessing_birth_dates_of_one_member_is_stopped_whatever_the_address(client, line_standin):
    # given a member, and someone trying dates from ever new addresses and link tokens
    membership = _member()
    for day in range(1, 6):
        token = _link_token(line_user_id(10 + day))
        data = {"linkToken": token, "member-member_number": membership.member_number}
        data["member-birth_date"] = f"1990-01-0{day}"
        answer = client.post("/line/link/proof/member/", data, REMOTE_ADDR=f"10.0.0.{day}")
        assert answer.status_code == 400
    # then the right date is refused too, for an hour
    token = _link_token(line_user_id(20))
    answer = client.post(
        "/line/link/proof/member/",
        {"linkToken": token, "member-member_number": membership.member_number, "member-birth_date": "1990-04-01"},
        REMOTE_ADDR="10.0.1.1",
    )
    assert answer.status_code == 429


def test_a_member_without_a_birth_date_on_file_cannot_use_this_proof(client, line_standin):
    membership = _member(birth_date=None)
    token = _link_token(line_user_id(3))
    assert _proof(client, token, membership.member_number, "1990-04-01").status_code == 400
    assert _proof(client, token, "x", "not a date").status_code == 400
