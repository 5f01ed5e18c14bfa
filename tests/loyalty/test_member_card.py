"""The member card: tokens (opaque, hashed, revocable), the mailed link and the one-time code that open it, the
card page (only the member's own data, noindex, no-store, without JavaScript), and redeeming from it."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core import signing
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from loyalty import services
from loyalty.models import LedgerEntry, MemberCard, Redemption
from loyalty.services import cards, local_today
from tests.factories import CustomerFactory, RewardFactory, member_join
from tests.loyalty.conftest import refreshed
from touchpoints.outreach.models import OutboundMessage

pytestmark = pytest.mark.django_db

LINK = re.compile(r"http://[^\s]+/m/open/[^\s/]+/")
CODE = re.compile(r"\b(\d{6})\b")


def mailed_link(membership) -> str:
    cards.card_link_send(membership=membership)
    body = OutboundMessage.objects.filter(customer=membership.customer).latest("id").body
    return LINK.search(body).group(0)


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


# --- Tokens and cards -----------------------------------------------------------------------------


def test_a_card_token_is_opaque_and_only_its_hash_is_stored(member):
    card = cards.card_for(member)
    token = cards.card_token(card)
    assert re.fullmatch(r"TC[A-Z2-7]{32}", token)
    assert str(member.customer_id) not in token[2:] or len(token) == 34
    assert token not in card.token_hash and card.token_hash != token
    stored = MemberCard.objects.filter(pk=card.pk).values_list("token_hash", "salt").get()
    assert token not in stored
    assert cards.card_find(token).pk == card.pk
    assert cards.card_find(token.lower()[:10] + " " + token.lower()[10:]).pk == card.pk  # as a person types it
    assert cards.card_for(member).pk == card.pk  # one active card


def test_reissuing_revokes_the_old_token_its_links_and_its_sessions(client, member):
    # given: a phone that opened the card from a mailed link
    old = cards.card_for(member)
    old_token = cards.card_token(old)
    link = mailed_link(member)
    assert client.get(path_of(link)).status_code == 302
    assert client.get(reverse("member:card")).status_code == 200

    # when: staff reissue the card
    new = cards.card_reissue(membership=member)

    # then: the old token is refused (found, but revoked), the old link and the phone's session no longer work
    assert not cards.card_find(old_token).is_active
    assert cards.card_token(new) != old_token and cards.card_find(cards.card_token(new)).is_active
    assert client.get(reverse("member:card")).status_code == 302
    refused = client.get(path_of(link))
    assert refused.status_code == 400 and "replaced by a new one" in refused.content.decode()
    assert MemberCard.objects.filter(membership=member, revoked_at__isnull=True).count() == 1


def test_a_link_that_expired_or_was_tampered_with_is_refused(client, member, settings):
    card = cards.card_for(member)
    forged = signing.dumps(card.pk, salt="another.salt")
    response = client.get(reverse("member:open", args=[forged]))
    assert response.status_code == 400 and "not valid" in response.content.decode()
    settings.TSUNAGU_CARD_LINK_DAYS = -1
    response = client.get(path_of(cards.card_link(card)))
    assert response.status_code == 400 and "expired" in response.content.decode()


# --- The one-time code ----------------------------------------------------------------------------


def test_a_member_opens_the_card_with_a_mailed_code(client, member):
    response = client.post(reverse("member:start"), {"email": member.customer.email.upper()})
    assert response.status_code == 302 and response["Location"] == reverse("member:code")
    mail = OutboundMessage.objects.get(customer=member.customer)
    assert mail.purpose == "transactional"
    code = CODE.search(mail.subject).group(1)
    wrong = client.post(reverse("member:code"), {"code": "000000" if code != "000000" else "111111"})
    assert "not right" in wrong.content.decode()
    assert client.post(reverse("member:code"), {"code": code}).status_code == 302
    page = client.get(reverse("member:card"))
    assert page.status_code == 200 and member.member_number in page.content.decode()
    # a code works once
    client.post(reverse("member:sign_out"))
    client.post(reverse("member:start"), {"email": "someone@example.com"})
    assert client.get(reverse("member:card")).status_code == 302


def test_an_unknown_address_gets_the_same_answer_and_no_mail(client, member):
    response = client.post(reverse("member:start"), {"email": "stranger@example.com"})
    assert response.status_code == 302 and response["Location"] == reverse("member:code")
    assert not OutboundMessage.objects.exists()


def test_asking_for_codes_is_throttled(client, member, settings):
    settings.TSUNAGU_CARD_CODE_RATE_LIMIT = "2/hour"
    for _ in range(2):
        assert client.post(reverse("member:start"), {"email": member.customer.email}).status_code == 302
    third = client.post(reverse("member:start"), {"email": member.customer.email})
    assert third.status_code == 200 and "Too many codes" in third.content.decode()
    assert OutboundMessage.objects.count() == 2


def test_five_wrong_codes_void_the_code(client, member):
    client.post(reverse("member:start"), {"email": member.customer.email})
    code = CODE.search(OutboundMessage.objects.get().subject).group(1)
    wrong = "999999" if code != "999999" else "888888"
    for _ in range(5):
        client.post(reverse("member:code"), {"code": wrong})
    last = client.post(reverse("member:code"), {"code": code})
    assert "expired or was never sent" in last.content.decode()


# --- The card page --------------------------------------------------------------------------------


@pytest.fixture
def on_card(client, member):
    client.get(path_of(mailed_link(member)))
    return client


def test_the_card_shows_balance_tier_qr_expiry_history_and_rewards(on_card, member, buy, club):
    buy(member.customer, "25000", "A-1")  # 250 points
    RewardFactory(programme=club, name="Coffee", points_cost=200)
    RewardFactory(programme=club, name="Tote bag", points_cost=300)
    RewardFactory(programme=club, name="Weekend trip", points_cost=50_000)
    response = on_card.get(reverse("member:card"))
    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="card-balance">250<' in body and "Regular" in body and member.member_number in body
    assert 'src="data:image/svg+xml' in body  # the QR code, drawn on the server
    assert "750 more points to reach Silver" in body
    assert "Coffee" in body and "Redeem for 200 points" in body
    assert "Tote bag — 50 more points" in body and "Weekend trip" not in body
    assert "Purchase A-1" not in body and "Earned" in body and "+250" in body
    assert "noindex" in body and response["X-Robots-Tag"] == "noindex, nofollow"
    assert "no-store" in response["Cache-Control"]
    assert 'rel="manifest"' in body and "/m/r/" + member.referral_code in body
    assert str(member.customer_id) not in re.findall(r"TC[A-Z2-7]{32}", body)


def test_the_card_page_reads_in_a_few_queries_whatever_the_ledger(on_card, member, django_assert_max_num_queries):
    for i in range(30):
        services.points_adjust(membership=member, points=10, reason="seed", key=f"seed-{i}")
    with django_assert_max_num_queries(12):
        assert on_card.get(reverse("member:card")).status_code == 200


def test_the_card_lists_the_next_days_points_expire_and_sums_the_later_ones(on_card, member):
    # given: lots expiring yesterday (the nightly job has not run yet), on seven days ahead, and after 60 days
    today = local_today()
    for i, days in enumerate([-1, 3, 5, 5, 9, 12, 20, 30, 45, 90]):
        LedgerEntry.objects.create(
            membership=member, kind="earn", points=10, reason="x", key=f"lot-{i}", remaining=10,
            expires_on=today + dt.timedelta(days=days),
        )  # fmt: skip
    # when: the member opens the card
    body = on_card.get(reverse("member:card")).content.decode()
    section = body[body.index('id="card-expiring"') : body.index('id="card-tier-section"')]
    # then: five days one by one, the sixth and seventh in one line; nothing already past, nothing after 60 days
    assert section.count("points expire after") == 5 and "20 points expire after" in section
    assert re.search(r'id="card-expiring-later">20 more points expire by', section)
    assert section.count("<li") == 6


def test_the_card_page_reads_the_same_queries_for_a_long_ledger_and_two_of_the_ledger(on_card, member):
    # given: a member with one entry, then with sixty more (lots expiring on many days)
    def ledger_queries():
        with CaptureQueriesContext(connection) as captured:
            assert on_card.get(reverse("member:card")).status_code == 200
        sqls = [q["sql"] for q in captured.captured_queries]
        return (
            len(sqls),
            sum("loyalty_ledgerentry" in sql for sql in sqls),
            sum("loyalty_membercard" in sql for sql in sqls),
        )

    services.points_adjust(membership=member, points=10, reason="seed", key="seed-first")
    ledger_queries()  # the programme's rewards are read once, then cached
    short = ledger_queries()
    for i in range(60):
        services.points_adjust(membership=member, points=10, reason="seed", key=f"seed-{i}")
    # then: the same three queries: the card with its member, the ledger's figures and its history
    assert ledger_queries() == short == (3, 2, 1)


def test_the_card_is_in_the_members_language(on_card, member):
    member.customer.preferred_language = "ja"
    member.customer.save(update_fields=["preferred_language"])
    body = on_card.get(reverse("member:card")).content.decode()
    assert 'lang="ja"' in body and "会員番号" in body


def test_the_manifest_lets_the_card_be_added_to_the_home_screen(client):
    response = client.get(reverse("member:manifest"))
    assert response["Content-Type"] == "application/manifest+json"
    assert response.json()["start_url"] == reverse("member:card") and response.json()["display"] == "standalone"


# --- Redeeming from the card ----------------------------------------------------------------------


def test_redeeming_from_the_card_shows_the_voucher_and_a_double_tap_spends_once(on_card, member, club):
    services.points_adjust(membership=member, points=500, reason="gift", key="gift")
    reward = RewardFactory(programme=club, name="Coffee", points_cost=200, stock=5)
    key = re.search(r'name="key" value="([0-9a-f]{32})"', on_card.get(reverse("member:card")).content.decode())[1]
    first = on_card.post(reverse("member:redeem"), {"reward": reward.pk, "key": key})
    second = on_card.post(reverse("member:redeem"), {"reward": reward.pk, "key": key})
    assert first["Location"] == second["Location"]
    redemption = Redemption.objects.get()
    assert redemption.source == "card" and redemption.entries.get().source == "member"
    voucher = on_card.get(first["Location"]).content.decode()
    assert redemption.voucher_code in voucher
    assert refreshed(member).balance == 300
    reward.refresh_from_db()
    assert reward.stock == 4
    history = on_card.get(reverse("member:card")).content.decode().split('id="card-history"')[1]
    assert "Redeemed: Coffee</span>" in history and "\u2212200" in history  # the history names the reward


def test_a_short_balance_is_said_plainly_and_spends_nothing(on_card, member, club):
    reward = RewardFactory(programme=club, points_cost=200)
    response = on_card.post(reverse("member:redeem"), {"reward": reward.pk, "key": "a" * 32}, follow=True)
    assert "Not enough points" in response.content.decode()
    assert not Redemption.objects.exists()


def test_a_card_shows_only_its_own_vouchers_and_rewards(on_card, member, club):
    other = member_join(CustomerFactory(), club)
    services.points_adjust(membership=other, points=500, reason="gift", key="other")
    reward = RewardFactory(programme=club, points_cost=100)
    theirs = services.points_redeem(membership=other, reward=reward, key="theirs")
    assert on_card.get(reverse("member:voucher", args=[theirs.pk])).status_code == 404
    from tests.factories import ProgrammeFactory

    foreign = RewardFactory(programme=ProgrammeFactory(name="Elsewhere"), points_cost=1)
    on_card.post(reverse("member:redeem"), {"reward": foreign.pk, "key": "b" * 32})
    assert Redemption.objects.count() == 1


def test_bad_input_never_answers_500(on_card):
    for data in ({}, {"reward": "x", "key": "y"}, {"reward": "1", "key": "z" * 500}):
        assert on_card.post(reverse("member:redeem"), data).status_code == 302
    assert on_card.get(reverse("member:voucher", args=[999999])).status_code == 404
    assert on_card.post(reverse("member:code"), {"code": "<script>"}).status_code in (200, 302)


def test_without_a_card_session_the_pages_send_to_sign_in(client):
    assert client.get(reverse("member:card"))["Location"] == reverse("member:start")
    assert client.post(reverse("member:redeem"), {})["Location"] == reverse("member:start")


# --- Staff ----------------------------------------------------------------------------------------


def test_staff_send_a_card_link_and_reissue_a_card(support_client, member):
    response = support_client.post(reverse("loyalty:card_send", args=[member.pk]), follow=True)
    assert "on its way" in response.content.decode()
    message = OutboundMessage.objects.get(customer=member.customer)
    assert message.status == "queued" and "/m/open/" in message.body
    old = cards.card_for(member)
    support_client.post(reverse("loyalty:card_reissue", args=[member.pk]))
    assert not MemberCard.objects.get(pk=old.pk).is_active
    assert MemberCard.objects.filter(membership=member, revoked_at__isnull=True).count() == 1


def test_marketing_may_not_send_or_reissue_cards(marketing_client, member):
    assert marketing_client.post(reverse("loyalty:card_send", args=[member.pk])).status_code == 403
    assert marketing_client.post(reverse("loyalty:card_reissue", args=[member.pk])).status_code == 403


def test_merging_customers_keeps_the_kept_card_and_drops_the_other(club, django_capture_on_commit_callbacks):
    from customers.services import customer_merge

    keep, gone = member_join(CustomerFactory(), club), member_join(CustomerFactory(), club)
    kept_token, gone_token = cards.card_token(cards.card_for(keep)), cards.card_token(cards.card_for(gone))
    with django_capture_on_commit_callbacks(execute=True):
        customer_merge(primary=keep.customer, duplicate=gone.customer)
    assert cards.card_find(kept_token).is_active and cards.card_find(gone_token) is None
    assert MemberCard.objects.filter(revoked_at__isnull=True).count() == 1


def test_erasing_a_customer_revokes_their_card_and_a_disclosure_holds_their_preferences(client, member, manager):
    # given: a member signed in to their card on a phone, who chose their messages in the preference centre
    from crm.dataprotection import services as privacy
    from crm.dataprotection.disclosure import disclosure_data
    from customers import consent

    client.get(path_of(mailed_link(member)))
    consent.preferences_set(customer=member.customer, choices={("sms", "news"): True}, source="preference_centre",
                            evidence="Preference centre, from the member card")  # fmt: skip
    rows = disclosure_data(member.customer)["contact_preferences"]
    assert [(r["channel"], r["purpose"], r["allowed"], r["source"]) for r in rows] == [
        ("sms", "news", True, "preference_centre")
    ]
    token = cards.card_token(cards.card_for(member))

    # when: the customer's erasure request is carried out
    request = privacy.data_request_record(customer=member.customer, kind="erasure", received_via="letter", by=manager)
    done = privacy.customer_erase(data_request=request, confirmation=str(member.customer.pk), by=manager)

    # then: the card opens no more, on the phone or at the till
    assert done.outcome["member_cards"] == 1
    assert client.get(reverse("member:card")).status_code == 302
    assert not cards.card_find(token).is_active
