"""The send loops ask the customers' contact preferences once per batch, not once per message: a batch of LINE news
costs the same queries for six customers as for two, and the preferences still decide (an opt-out is skipped)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from customers import consent
from tests.factories import MessageTemplateFactory, line_linked_customer
from touchpoints.outreach.models import OutboundMessage
from touchpoints.outreach.outbox import message_enqueue, messages_send

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_broker(published):
    return published


def _send_news(first: int, count: int, template) -> tuple[int, list[OutboundMessage]]:
    """Queue LINE news for ``count`` linked customers (the first one said no to LINE news) and send them."""
    customers = [line_linked_customer(n, preferred_language="ja") for n in range(first, first + count)]
    consent.preferences_set(
        customer=customers[0],
        choices={("line", "news"): False},
        source=consent.Source.PREFERENCE_CENTRE,
        evidence="test",
    )
    ids = []
    for customer in customers:
        message = message_enqueue(customer=customer, key=f"q:{customer.pk}", purpose="marketing", template=template)
        OutboundMessage.objects.filter(pk=message.pk).update(status="queued", skip_reason="")  # as if it changed after
        ids.append(message.pk)
    with CaptureQueriesContext(connection) as queries:
        messages_send(message_ids=ids)
    return len(queries), list(OutboundMessage.objects.filter(pk__in=ids).order_by("pk"))


def test_a_batch_of_line_news_asks_the_preferences_once_whatever_its_size(line_standin):
    template = MessageTemplateFactory(channel="line", purpose="marketing", line_body_ja="冬のセール")
    # when two, then six customers get LINE news
    small, small_rows = _send_news(1, 2, template)
    large, large_rows = _send_news(10, 6, template)
    # then both batches took the same number of queries
    assert small == large
    # and the customer who said no to LINE news was skipped in each, the others sent
    for rows in (small_rows, large_rows):
        assert [(m.status, m.skip_reason) for m in rows[:1]] == [("skipped", "opted_out")]
        assert {m.status for m in rows[1:]} == {"sent"}
