"""LINE delivery guarantees with a real Celery worker, a real Redis and the LINE stand-in: a worker killed with
``kill -9`` in the middle of a multicast broadcast, then restarted, and every customer gets the message exactly
once (the retried request carries the same X-Line-Retry-Key, which the stand-in answers 409)."""

from __future__ import annotations

import time
from collections import Counter

import pytest
from django.utils import timezone

from customers.models import Customer
from tests.celery.processes import wait_for
from tests.celery.test_outreach_delivery import ensure_catalogue, pending
from tests.factories import MessageTemplateFactory, line_linked_customers, line_user_id
from tests.line_standin import SECRET, TOKEN, LineStandin
from touchpoints.outreach.models import OutboundMessage
from touchpoints.outreach.outbox import message_build, messages_insert

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]

PROVIDER = "provider-celery"


@pytest.fixture
def standin():
    with LineStandin() as server:
        yield server


@pytest.fixture
def line_env(celery_env, standin, settings, monkeypatch):
    settings.LINE_PROVIDER_ID = PROVIDER
    settings.LINE_API_HOST = standin.url
    monkeypatch.setenv("LINE_CHANNEL_ACCESS_TOKEN", TOKEN)
    return {
        **celery_env,
        "LINE_API_HOST": standin.url,
        "LINE_CHANNEL_SECRET": SECRET,
        "LINE_PROVIDER_ID": PROVIDER,
        "LINE_CHANNEL_ACCESS_TOKEN": TOKEN,
    }


def linked_customers(n: int) -> list[Customer]:
    return line_linked_customers(n, provider=PROVIDER)


def test_kill_9_in_the_middle_of_a_multicast_then_restart_delivers_to_every_customer_exactly_once(
    processes, line_env, standin
):
    ensure_catalogue()
    customers = linked_customers(2000)
    template = MessageTemplateFactory(channel="line", line_body_ja="冬のセールのお知らせ", line_body_en="Winter sale")
    now = timezone.now()
    messages = [
        message_build(customer=c, key=f"lk:{c.pk}", purpose="marketing", template=template, now=now) for c in customers
    ]
    messages_insert(messages, now=now)
    OutboundMessage.objects.filter(key__startswith="lk:").update(enqueued_at=None)
    # LINE takes each request, then answers only after a second: the worker dies with requests taken, unanswered
    standin.state.delay = 1.0
    processes.beat(env=line_env)
    worker = processes.worker(env=line_env)

    wait_for(lambda: standin.delivered_count() >= 500, timeout=120, what="a multicast taken before the kill")
    worker.kill9()
    delivered_before = standin.delivered_count()
    held = OutboundMessage.objects.filter(status="sending").count()
    assert delivered_before < 2000, "every request was answered before the kill; nothing was tested"
    assert held > 0

    standin.state.delay = 0
    processes.worker(name="worker-restarted", env=line_env)
    wait_for(lambda: pending() == 0, timeout=150, what="every message settled")
    time.sleep(1)

    counts = Counter(d.to for d in standin.state.deliveries)
    expected = {line_user_id(c.pk) for c in customers}
    assert set(counts) == expected, f"{len(expected - set(counts))} customer(s) never got the message"
    assert max(counts.values()) == 1, "a customer got the message twice"
    assert OutboundMessage.objects.filter(key__startswith="lk:", status="sent").count() == 2000
    print(f"kill -9 after {delivered_before} deliveries; {held} row(s) held by the dead worker")  # noqa: T201
