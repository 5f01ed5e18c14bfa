"""A provider's inbound webhook (django-anymail, Mailgun's here): a signed post is stored once and threaded like
a fetched mail; a forged or unsigned one is refused and stores nothing; a redelivery stores nothing twice."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pytest

from feedback.models import Ticket
from touchpoints.outreach.channels.mailbox.models import InboundMail, Mailbox

from .fixtures import fixture

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.touchpoints.outreach.mail.anymail_urls")]
KEY = "mailgun-signing-key"
URL = "/anymail/mailgun/inbound/"


@pytest.fixture(autouse=True)
def anymail(settings):
    settings.ANYMAIL = {"MAILGUN_WEBHOOK_SIGNING_KEY": KEY, "WEBHOOK_SECRET": "user:pass"}


def signed(raw: bytes, key: str = KEY) -> dict:
    timestamp, token = str(int(time.time())), "t" * 50
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return {"timestamp": timestamp, "token": token, "signature": signature, "body-mime": raw.decode("utf-8")}


AUTH = {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(b"user:pass").decode()}


def test_a_signed_inbound_post_is_stored_once_and_opens_a_ticket(client):
    Mailbox.objects.create(name="support", address="support@tsunagu.example")
    raw = fixture("iphone_utf8.eml")
    assert client.post(URL, signed(raw), **AUTH).status_code == 200
    mail = InboundMail.objects.get()
    assert mail.mailbox.name == "support" and mail.status == "processed"
    assert Ticket.objects.get().subject == "Re: 発送のお知らせ"
    assert client.post(URL, signed(raw), **AUTH).status_code == 200  # the provider redelivers
    assert InboundMail.objects.count() == 1 and Ticket.objects.count() == 1


def test_a_forged_or_unauthenticated_post_stores_nothing(client):
    raw = fixture("iphone_utf8.eml")
    assert client.post(URL, signed(raw, key="wrong"), **AUTH).status_code == 400
    assert client.post(URL, signed(raw)).status_code == 400  # no basic auth
    assert not InboundMail.objects.exists() and not Ticket.objects.exists()
