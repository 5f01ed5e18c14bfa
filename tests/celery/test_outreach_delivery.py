"""Delivery guarantees with a real Celery worker, a real Redis and a local SMTP server:

- a worker killed with ``kill -9`` in the middle of a 1,000-message batch, then restarted: every
  message arrives exactly once;
- Redis down for 30 s while follow-ups fall due: none is lost once it is back;
- two beat schedulers at once: every follow-up is dispatched and sent once.

What arrives is counted at the SMTP server by Message-ID (derived from each outbox key); the outbox's
own bookkeeping is checked separately, so neither hides a fault of the other.
"""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.utils import timezone

from customers.models import Customer
from tests.celery.processes import wait_for
from tests.factories import MessageTemplateFactory, TouchpointTypeFactory
from touchpoints.models import Touchpoint
from touchpoints.outreach.models import FollowUp, FollowUpRule, OutboundMessage
from touchpoints.outreach.outbox import message_build, message_id_for, messages_insert

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]


def make_customers(n: int, prefix: str) -> list[Customer]:
    now = timezone.now()
    customers = [
        Customer(
            family_name="Tanaka",
            given_name=f"Taro{i}",
            email=f"{prefix}{i}@example.com",
            preferred_language="ja" if i % 2 else "en",
            marketing_consent=True,
            consent_source="web_form",
            consent_at=now,
        )
        for i in range(n)
    ]
    for customer in customers:
        customer.derive_fields()
    return Customer.objects.bulk_create(customers, batch_size=1000)


def ensure_catalogue() -> None:
    """The seeded types the outreach uses (an earlier transactional test may have flushed them)."""
    TouchpointTypeFactory(slug="follow-up-email", name="Follow-up email", stage="retention")
    TouchpointTypeFactory(slug="transaction", name="Transaction", stage="decision", kind="purchase")


def queue_messages(customers: list[Customer], prefix: str) -> list[str]:
    """Queued outbox rows with no send task yet: the beat-driven sweeper hands them to the broker."""
    now = timezone.now()
    messages = [
        message_build(
            customer=customer,
            key=f"{prefix}:{customer.pk}",
            purpose="marketing",
            subject="Hello {customer_name}",
            body="Dear {customer_name}\nUnsubscribe: {unsubscribe_url}",
            now=now,
        )
        for customer in customers
    ]
    messages_insert(messages, now=now)
    OutboundMessage.objects.filter(key__startswith=f"{prefix}:").update(enqueued_at=None)
    return [m.key for m in messages]


def pending() -> int:
    return OutboundMessage.objects.filter(status__in=["queued", "sending"]).count()


def assert_each_arrived_once(sink, keys: list[str]) -> None:
    counts = sink.by_message_id()
    expected = {message_id_for(key) for key in keys}
    duplicated = {mid: n for mid, n in counts.items() if n > 1}
    missing = expected - set(counts)
    unexpected = set(counts) - expected
    assert not duplicated, f"{len(duplicated)} message(s) delivered more than once: {list(duplicated.items())[:5]}"
    assert not missing, f"{len(missing)} message(s) never delivered"
    assert not unexpected, f"{len(unexpected)} unexpected message(s)"


def test_kill_9_in_the_middle_of_a_batch_then_restart_delivers_every_message_exactly_once(processes, sink):
    ensure_catalogue()
    keys = queue_messages(make_customers(1000, "kill"), "kill")
    processes.beat()
    worker = processes.worker()

    wait_for(lambda: sink.count() >= 250, timeout=90, what="250 deliveries before the kill")
    worker.kill9()
    delivered_before = sink.count()
    held = OutboundMessage.objects.filter(status="sending").count()
    assert delivered_before < 1000, "the batch finished before the kill; nothing was tested"

    processes.worker(name="worker-restarted")
    wait_for(lambda: pending() == 0, timeout=120, what="every message settled")
    time.sleep(2)  # let any stray duplicate arrive before counting

    assert_each_arrived_once(sink, keys)
    assert OutboundMessage.objects.filter(status="sent").count() == 1000
    print(f"kill -9 after {delivered_before} deliveries; {held} row(s) were held by the dead worker")  # noqa: T201
    # The timeline has one entry per message at most (the idempotency key derives from the outbox key).
    assert Touchpoint.objects.filter(idempotency_key__startswith="outbox:kill:").count() <= 1000


def make_rule() -> FollowUpRule:
    return FollowUpRule.objects.create(
        name="Thank you",
        trigger="touchpoint",
        trigger_type=TouchpointTypeFactory(slug="transaction"),
        delay_amount=0,
        action="send",
        template=MessageTemplateFactory(slug="thanks-celery"),
        stop_if_purchased=False,
        cap_days=0,
    )


def schedule_followups(rule: FollowUpRule, customers: list[Customer], *, first_due: dt.datetime, spread: dt.timedelta):
    step = spread / max(1, len(customers) - 1)
    FollowUp.objects.bulk_create(
        FollowUp(
            rule=rule,
            customer=customer,
            trigger_key=f"test:{customer.pk}",
            triggered_at=first_due,
            due_at=first_due + i * step,
        )
        for i, customer in enumerate(customers)
    )


def followup_keys() -> list[str]:
    return [f"followup:{pk}" for pk in FollowUp.objects.values_list("pk", flat=True)]


def test_follow_ups_falling_due_while_redis_is_down_are_all_sent_once_it_is_back(processes, private_redis, sink):
    ensure_catalogue()
    rule = make_rule()
    customers = make_customers(200, "outage")
    processes.beat()
    processes.worker()

    outage_starts = timezone.now()
    schedule_followups(
        rule, customers, first_due=outage_starts + dt.timedelta(seconds=3), spread=dt.timedelta(seconds=20)
    )
    private_redis.stop()
    time.sleep(30)
    assert FollowUp.objects.filter(status="scheduled").count() == 200  # nothing could run without the broker
    assert sink.count() == 0

    private_redis.start()  # an empty Redis: whatever the broker held is gone
    wait_for(
        lambda: (
            FollowUp.objects.filter(status="done").count() == 200
            and pending() == 0
            and OutboundMessage.objects.count() == 200
        ),
        # Beat and the worker reconnect with backoff and beat runs more jobs now (mail, LINE, rollups): on a loaded
        # machine it once timed out at 120 s in a full run (passing alone). What is asserted is unchanged.
        timeout=240,
        what="every follow-up dispatched and sent",
    )
    time.sleep(1)

    assert_each_arrived_once(sink, followup_keys())
    assert OutboundMessage.objects.filter(status="sent", followup__rule=rule).count() == 200


def test_two_beat_schedulers_at_once_send_every_follow_up_once(processes, celery_env, sink):
    ensure_catalogue()
    rule = make_rule()
    customers = make_customers(300, "twobeats")
    now = timezone.now()
    schedule_followups(rule, customers, first_due=now - dt.timedelta(seconds=1), spread=dt.timedelta(seconds=6))
    env = {**celery_env, "TSUNAGU_OUTREACH_DISPATCH_CHUNK": "10"}  # many small chunks: the dispatchers interleave

    first, second = processes.beat("beat-1", env=env), processes.beat("beat-2", env=env)
    processes.worker(env=env, concurrency=3)
    wait_for(
        lambda: (
            FollowUp.objects.filter(status="done").count() == 300
            and pending() == 0
            and OutboundMessage.objects.count() == 300
        ),
        timeout=120,
        what="every follow-up dispatched and sent",
    )
    time.sleep(2)

    assert_each_arrived_once(sink, followup_keys())
    assert OutboundMessage.objects.filter(status="sent").count() == 300
    for beat in (first, second):
        assert "Sending due task touchpoints: dispatch due follow-ups" in beat.log()


def test_the_hand_over_record_and_the_end_of_data_leave_back_to_back(sink, settings):
    """The PostgreSQL path (autocommit, the record sent without waiting for its answer), without a worker."""
    from django.core.mail.backends.smtp import EmailBackend

    from touchpoints.outreach.channels.email import Delivery, Timings
    from touchpoints.outreach.outbox import messages_send

    settings.TSUNAGU_QUIET_HOURS = ""
    ensure_catalogue()
    keys = queue_messages(make_customers(20, "window"), "window")
    timings = Timings()
    delivery = Delivery(EmailBackend(host="127.0.0.1", port=sink.port, timeout=5), timings=timings)
    ids = list(OutboundMessage.objects.values_list("pk", flat=True))

    report = messages_send(message_ids=ids, delivery=delivery)
    again = messages_send(message_ids=ids, delivery=delivery)
    delivery.close()

    assert (report.sent, again.claimed) == (20, 0)
    assert_each_arrived_once(sink, keys)
    assert (
        OutboundMessage.objects.filter(status="sent", handed_over_at__isnull=False, touchpoint__isnull=False).count()
        == 20
    )
    assert len(timings.record_to_end_of_data) == 20
    assert sorted(timings.record_to_end_of_data)[10] < 0.005  # the median gap: two system calls apart
