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
