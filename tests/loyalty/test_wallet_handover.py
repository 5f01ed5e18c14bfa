"""Staff hand a member their card for Apple or Google Wallet, at the till or from the customer page: a QR code of a
short-lived link that opens the card at its wallet buttons, or the card link sent by mail or LINE. Absent when no
wallet is configured; only the roles that manage cards see it."""

from __future__ import annotations

import json
import re
import time

import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse

from loyalty.services import cards
from loyalty.wallet.config import config_forget
from tests.factories import line_linked_customer, member_join
from touchpoints.outreach.models import OutboundMessage

pytestmark = pytest.mark.django_db

LINK = re.compile(r'id="handover-link" type="text" readonly value="([^"]+)"')


@pytest.fixture
def google_wallet(settings, tmp_path):
    """Google Wallet configured (its key is only read when a pass is signed, which these tests never do)."""
    key = tmp_path / "google.json"
    key.write_text(json.dumps({"client_email": "wallet@example.iam.gserviceaccount.com", "private_key": "unused"}))
    settings.TSUNAGU_GOOGLE_WALLET_ISSUER_ID = "3388000000000000001"
    settings.TSUNAGU_GOOGLE_WALLET_KEY_FILE = str(key)
    config_forget()
    yield
    config_forget()


@pytest.fixture(autouse=True)
def _fresh_config():
    config_forget()
    yield
    config_forget()


def handover_url(membership, next_url: str = "") -> str:
    url = reverse("loyalty:card_handover", args=[membership.pk])
    return f"{url}?next={next_url}" if next_url else url


def test_without_a_wallet_neither_the_till_nor_the_customer_page_offers_one(support_client, member):
    till = support_client.get(reverse("loyalty:till_member", args=[member.pk])).content.decode()
    customer = support_client.get(member.customer.get_absolute_url()).content.decode()
    assert 'id="till-wallet"' not in till
    assert "loyalty-wallet" not in customer and 'id="loyalty-panel"' in customer
    assert support_client.get(handover_url(member)).status_code == 404


def test_staff_hand_over_a_qr_code_that_opens_the_card_at_its_wallet_buttons(support_client, member, google_wallet):
    # given: a member at the till, and Google Wallet configured
    till_url = reverse("loyalty:till_member", args=[member.pk])
    till = support_client.get(till_url).content.decode()
    assert 'id="till-wallet"' in till
    customer = support_client.get(member.customer.get_absolute_url()).content.decode()
    assert "loyalty-wallet" in customer

    # when: staff open the handover page from the till
    page = support_client.get(handover_url(member, till_url))
    body = page.content.decode()

    # then: a QR code and the link it holds, Google Wallet named, and a way back to the till
    assert page.status_code == 200
    assert 'id="handover-qr-image" src="data:image/svg+xml' in body and 'id="handover-google"' in body
    assert 'id="handover-apple"' not in body and f'href="{till_url}" id="handover-back"' in body
    link = LINK.search(body).group(1)
    assert "/m/hand/" in link and str(member.customer_id) not in link.rsplit("/", 2)[-2][:3]

    # when: the member's phone scans it
    phone = Client()
    opened = phone.get("/" + link.split("/", 3)[3])

    # then: their card opens at the wallet buttons
    assert opened.status_code == 302 and opened["Location"] == reverse("member:card") + "#card-wallet"
    card = phone.get(reverse("member:card")).content.decode()
    assert 'id="wallet-google"' in card and member.member_number in card


def test_a_handover_link_lives_minutes_and_is_no_mailed_link(client, member, settings):
    card = cards.card_for(member)
    handover = cards.card_handover_link(card).split("/")[-2]
    mailed = cards.card_link(card).split("/")[-2]
    # a mailed link is not a handover link, nor the other way round (their signatures differ)
    assert client.get(reverse("member:open_handover", args=[mailed])).status_code == 400
    assert client.get(reverse("member:open", args=[handover])).status_code == 400
    # a handover link older than its minutes is refused
    stale = signing.TimestampSigner(salt=cards.HANDOVER_SALT)
    stale.timestamp = lambda: signing.b62_encode(int(time.time()) - cards.HANDOVER_MINUTES * 60 - 5)
    old = stale.sign_object(card.pk, compress=True)
    answer = client.get(reverse("member:open_handover", args=[old]))
    assert answer.status_code == 400 and "expired" in answer.content.decode()
    # a reissued card's handover link opens nothing
    cards.card_reissue(membership=member)
    assert client.get(reverse("member:open_handover", args=[handover])).status_code == 400


def test_the_handover_page_sends_the_card_link_by_mail_or_line_and_returns(
    support_client, club, google_wallet, line_standin
):
    # given: a member linked to LINE and following
    member = member_join(line_linked_customer(7, email="line.member@example.com"), club)
    till_url = reverse("loyalty:till_member", args=[member.pk])
    body = support_client.get(handover_url(member, till_url)).content.decode()
    assert 'id="handover-email"' in body and 'id="handover-line"' in body

    # when: staff send the link by LINE, then by mail
    send = reverse("loyalty:card_send", args=[member.pk])
    by_line = support_client.post(send, {"channel": "line", "next": till_url})
    by_mail = support_client.post(send, {"channel": "email", "next": "https://evil.example/"})

    # then: one message each, with the card link; back to the till, and never to another site
    assert by_line["Location"] == till_url and by_mail["Location"] == member.get_absolute_url()
    sent = {m.channel: m for m in OutboundMessage.objects.filter(customer=member.customer)}
    assert set(sent) == {"line", "email"} and all("/m/open/" in m.body for m in sent.values())


def test_without_line_the_handover_page_offers_only_mail(support_client, member, google_wallet):
    body = support_client.get(handover_url(member)).content.decode()
    assert 'id="handover-email"' in body and 'id="handover-line"' not in body


def test_only_roles_that_manage_cards_hand_them_over(marketing_client, member, google_wallet):
    assert marketing_client.get(handover_url(member)).status_code == 403
    customer = marketing_client.get(member.customer.get_absolute_url()).content.decode()
    assert "loyalty-wallet" not in customer


def test_an_inactive_membership_is_not_handed_over(support_client, member, google_wallet):
    member.status = "closed"
    member.save(update_fields=["status"])
    answer = support_client.get(handover_url(member), follow=True)
    assert "not active" in answer.content.decode()
    till = support_client.get(reverse("loyalty:till_member", args=[member.pk])).content.decode()
    assert 'id="till-wallet"' not in till
