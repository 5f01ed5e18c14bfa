"""List-Unsubscribe: the RFC 8058 one-click link always; a mailto: only for a mailbox someone reads."""

from __future__ import annotations

import pytest
from django.core import mail

from tests.factories import consenting_customer
from touchpoints.outreach import outbox

pytestmark = pytest.mark.django_db


def send_marketing(noon):
    customer = consenting_customer()
    message = outbox.message_enqueue(customer=customer, key="k1", purpose="marketing", body="Hi", now=noon)
    outbox.messages_send(message_ids=[message.pk], now=noon)
    return customer, mail.outbox[-1].extra_headers


def test_no_mailto_unless_a_mailbox_is_configured(noon, published, settings):
    settings.TSUNAGU_UNSUBSCRIBE_MAILTO = ""
    settings.DEFAULT_FROM_EMAIL = "Tsunagu <no-reply@shop.example.jp>"

    customer, headers = send_marketing(noon)

    assert headers["List-Unsubscribe"] == f"<{outbox.one_click_unsubscribe_url(customer.pk)}>"
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert headers["Message-ID"].endswith("@shop.example.jp>")


def test_a_configured_mailbox_is_offered_after_the_one_click_link(noon, published, settings):
    settings.TSUNAGU_UNSUBSCRIBE_MAILTO = "unsubscribe@shop.example.jp"

    customer, headers = send_marketing(noon)

    https, mailto = headers["List-Unsubscribe"].split(", ")
    assert https == f"<{outbox.one_click_unsubscribe_url(customer.pk)}>"
    token = outbox.unsubscribe_token(customer.pk)
    assert mailto.startswith("<mailto:unsubscribe@shop.example.jp?subject=unsubscribe%20")
    assert outbox.customer_id_from_token(mailto.split("%20", 1)[1].rstrip(">").replace("%3A", ":")) == customer.pk
    assert token.split(":")[0] in mailto
