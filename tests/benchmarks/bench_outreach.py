"""Outreach: the outbox list, the follow-up dispatcher, broadcast preparation, a real worker's sending rate and
memory.

Targets: the outbox list (20,000 messages seeded once and kept, as the feedback section's tickets are) p95 < 40 ms
and within 1.5x of its framework floor; the dispatcher claims and enqueues 10,000 due follow-ups in < 10 s; a
broadcast to a 100,000-customer segment is prepared in < 60 s; one worker sends >= 400 messages/s to a local SMTP
server; the worker's peak memory < 200 MB. Also measured: the hand-over window (the gap between
the "handed over" record leaving the worker and the SMTP end-of-data line leaving it: the only
moment in which a ``kill -9`` loses a message, see docs/outbox.md).

Send tasks are published to a Redis server of the section's own (started and stopped here), the
worker is a real ``celery worker`` process (``BENCH_OUTREACH_POOL``, default ``threads``: sending waits on
the network, so threads overlap the waits in one process; ``BENCH_OUTREACH_CONCURRENCY``, default 16),
and the SMTP server runs in a process of its own. Every row the section writes is deleted afterwards but the outbox
list's; the messages it sends go to customers it creates for the purpose (deleted with their timelines).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import statistics
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.utils import timezone

from customers.models import Customer, Segment, Tag
from tests.benchmarks.harness import Context, Measurement, benchmark, target

DISPATCH_FOLLOWUPS = 10_000
DISPATCH_S = 10
BROADCAST_CUSTOMERS = 100_000
BROADCAST_S = 60
SEND_MESSAGES = int(os.environ.get("BENCH_OUTREACH_MESSAGES", 6000))
SEND_RATE = 400
WORKER_MB = 200
PREFIX = "bench-outreach"


@contextlib.contextmanager
def smtp_sink_process():
    from tests.smtp_sink import free_port, serve_counting

    port = free_port()
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no Django, no copy of this process
    count, ready = context.Value("i", 0), context.Event()
    process = context.Process(target=serve_counting, args=(port, count, ready), daemon=True)
    process.start()
    if not ready.wait(30):
        raise RuntimeError("the SMTP sink did not start")
    try:
        yield port, count
    finally:
        process.terminate()
        process.join(10)


@contextlib.contextmanager
def private_broker():
    """A Redis server of our own, and this process's Celery app publishing to it."""
    from crm.celery import app
    from tests.celery.processes import PrivateRedis
    from tests.smtp_sink import free_port

    with tempfile.TemporaryDirectory() as work_dir:
        redis = PrivateRedis(free_port(), Path(work_dir))
        redis.start()
        previous = app.conf.broker_url, app.conf.broker_transport_options
        _switch_broker(app, redis.url, {"visibility_timeout": 3600})
        try:
            yield redis
        finally:
            _switch_broker(app, *previous)
            redis.stop()


def _switch_broker(app, url: str, options: dict) -> None:
    with contextlib.suppress(Exception):
        app.pool.force_close_all()
    app._pool = None
    app.amqp._producer_pool = None
    app.conf.broker_url = url
    app.conf.broker_transport_options = options or {}


@contextlib.contextmanager
def no_quiet_hours():
    previous = settings.TSUNAGU_QUIET_HOURS
    settings.TSUNAGU_QUIET_HOURS = ""
    try:
        yield
    finally:
        settings.TSUNAGU_QUIET_HOURS = previous


def _template(purpose: str = "transactional"):
    from touchpoints.outreach.models import MessageTemplate

    template, _created = MessageTemplate.objects.update_or_create(
        slug=f"{PREFIX}-{purpose}",
        defaults={
            "name": f"Bench {purpose}",
            "purpose": purpose,
            "subject_ja": "{customer_name}様、ありがとうございます",
            "body_ja": "{customer_name}様\n{shop_name}をご利用いただきありがとうございます。\n"
            "配信停止: {unsubscribe_url}",
            "subject_en": "Thank you, {customer_name}",
            "body_en": "Dear {customer_name},\nthank you for shopping at {shop_name}.\nUnsubscribe: {unsubscribe_url}",
        },
    )
    return template


def _cleanup() -> None:
    from touchpoints.outreach.models import Broadcast, FollowUp, FollowUpRule, MessageTemplate, OutboundMessage

    OutboundMessage.objects.filter(source_ref__startswith="rule:", followup__rule__name__startswith=PREFIX).delete()
    FollowUp.objects.filter(rule__name__startswith=PREFIX).delete()
    FollowUpRule.objects.filter(name__startswith=PREFIX).delete()
    for broadcast in Broadcast.objects.filter(name__startswith=PREFIX):
        OutboundMessage.objects.filter(broadcast=broadcast).delete()
        broadcast.delete()
    Segment.objects.filter(name__startswith=PREFIX).delete()
    Tag.objects.filter(name__startswith=PREFIX).delete()
    OutboundMessage.objects.filter(key__startswith=f"{PREFIX}:").delete()
    Customer.objects.filter(email__startswith=f"{PREFIX}-").delete()  # with their timelines
    MessageTemplate.objects.filter(slug__startswith=PREFIX).delete()


@benchmark("outreach")
def dispatcher(ctx: Context) -> list[Measurement]:
    from touchpoints.models import TouchpointType
    from touchpoints.outreach.models import FollowUp, FollowUpRule, OutboundMessage
    from touchpoints.outreach.rules import followups_dispatch, rules_changed

    _cleanup()
    customer_ids = list(Customer.objects.order_by("pk").values_list("pk", flat=True)[:DISPATCH_FOLLOWUPS])
    rule = FollowUpRule.objects.create(
        name=f"{PREFIX} dispatch",
        trigger="touchpoint",
        trigger_type=TouchpointType.objects.get(slug="transaction"),
        action="send",
        template=_template(),
        stop_if_purchased=True,
        cap_days=0,
    )
    rules_changed()
    now = timezone.now()
    FollowUp.objects.bulk_create(
        (
            FollowUp(rule=rule, customer_id=pk, trigger_key=f"bench:{pk}", triggered_at=now, due_at=now)
            for pk in customer_ids
        ),
        batch_size=5000,
    )
    try:
        with private_broker() as redis, no_quiet_hours():
            started = time.perf_counter()
            report = followups_dispatch()
            seconds = time.perf_counter() - started
            queued = OutboundMessage.objects.filter(followup__rule=rule, status="queued").count()
            in_broker = _broker_length(redis)
    finally:
        _cleanup()
    m = Measurement(
        name=f"dispatcher: {report.followups:,} due follow-ups claimed and enqueued "
        f"({queued:,} queued, {report.published:,} published in {in_broker} send tasks)",
        value=seconds,
        unit="s",
    )
    return [m.check(target(f"< {DISPATCH_S} s", seconds, lambda v: v < DISPATCH_S))]


def _broker_length(redis) -> int:
    import redis as redis_client

    return redis_client.Redis.from_url(redis.url).llen("celery")


@benchmark("outreach")
def broadcast(ctx: Context) -> list[Measurement]:
    from touchpoints.outreach.broadcasts import broadcast_counts, broadcast_create, broadcast_prepare

    _cleanup()
    size = min(BROADCAST_CUSTOMERS, Customer.objects.count())
    tag = Tag.objects.create(name=f"{PREFIX} audience")
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO customers_customer_tags (customer_id, tag_id) "
            "SELECT id, %s FROM customers_customer ORDER BY id LIMIT %s",
            [tag.pk, size],
        )
    segment = Segment.objects.create(name=f"{PREFIX} segment", rules={"tags": [tag.pk]})
    try:
        with private_broker(), no_quiet_hours():
            item = broadcast_create(
                name=f"{PREFIX} newsletter", template=_template("marketing"), segment=segment, by=None
            )
            started = time.perf_counter()
            prepared = broadcast_prepare(broadcast_id=item.pk)
            seconds = time.perf_counter() - started
            counts = broadcast_counts(item)
    finally:
        _cleanup()
    m = Measurement(
        name=f"broadcast to a {size:,}-customer segment prepared "
        f"({prepared:,} rows: {counts['queued']:,} queued, {counts['skipped']:,} skipped for consent or address)",
        value=seconds,
        unit="s",
    )
    m.check(target(f"< {BROADCAST_S} s", seconds, lambda v: v < BROADCAST_S))
    if size < BROADCAST_CUSTOMERS:
        m.note = f"only {size:,} customers in the benchmark database"
    return [m]


def _bench_customers(n: int) -> list[int]:
    now = timezone.now()
    customers = [
        Customer(
            family_name="Bench",
            given_name=f"Send{i}",
            email=f"{PREFIX}-{i}@example.com",
            preferred_language="ja" if i % 2 else "en",
            marketing_consent=True,
            consent_source="web_form",
            consent_at=now,
        )
        for i in range(n)
    ]
    for customer in customers:
        customer.derive_fields()
    return [c.pk for c in Customer.objects.bulk_create(customers, batch_size=2000)]


def _queue(customer_ids: list[int], tag: str) -> list[int]:
    from touchpoints.outreach.models import OutboundMessage
    from touchpoints.outreach.outbox import message_build, messages_insert

    template = _template("marketing")
    now = timezone.now()
    messages = [
        message_build(
            customer=customer, key=f"{PREFIX}:{tag}:{customer.pk}", purpose="marketing", template=template, now=now
        )
        for customer in Customer.objects.filter(pk__in=customer_ids)
    ]
    messages_insert(messages, now=now)
    ids = list(OutboundMessage.objects.filter(key__startswith=f"{PREFIX}:{tag}:").values_list("pk", flat=True))
    OutboundMessage.objects.filter(pk__in=ids).update(enqueued_at=None)
    return sorted(ids)


@benchmark("outreach")
def sending(ctx: Context) -> list[Measurement]:
    from tests.celery.processes import database_url, peak_rss_mb, start_worker, wait_for
    from touchpoints.outreach.models import OutboundMessage
    from touchpoints.outreach.outbox import publish

    _cleanup()
    concurrency = int(os.environ.get("BENCH_OUTREACH_CONCURRENCY", 16))
    pool = os.environ.get("BENCH_OUTREACH_POOL", "threads")
    customer_ids = _bench_customers(SEND_MESSAGES + 200)
    measurements: list[Measurement] = []
    try:
        with (
            private_broker() as redis,
            no_quiet_hours(),
            smtp_sink_process() as (port, delivered),
            tempfile.TemporaryDirectory() as log_dir,
        ):
            env = {
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "tests.celery.worker_settings",
                "DATABASE_URL": database_url(connection.settings_dict),
                "CELERY_BROKER_URL": redis.url,
                "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "EMAIL_HOST": "127.0.0.1",
                "EMAIL_PORT": str(port),
                "TSUNAGU_QUIET_HOURS": "",
                "DJANGO_LOG_LEVEL": "WARNING",
            }
            worker = start_worker(env, Path(log_dir), name="bench-worker", concurrency=concurrency, pool=pool)
            try:
                # warm-up: the pool's processes open their connections and import everything
                warm = _queue(customer_ids[:200], "warm")
                publish(warm)
                wait_for(lambda: delivered.value >= len(warm), timeout=120, what="the warm-up messages")
                ids = _queue(customer_ids[200:], "send")
                started = time.perf_counter()
                publish(ids)
                wait_for(
                    lambda: OutboundMessage.objects.filter(pk__in=ids, status__in=["queued", "sending"]).count() == 0,
                    timeout=600,
                    interval=0.1,
                    what="every message sent",
                )
                seconds = time.perf_counter() - started
                sent = OutboundMessage.objects.filter(pk__in=ids, status="sent").count()
                peaks = [peak_rss_mb(pid) for pid in [worker.pid, *worker.pool_pids()]]
            finally:
                worker.stop()
        rate = sent / seconds
        measurements.append(
            Measurement(
                name=f"one worker ({pool}, concurrency {concurrency}) sending {sent:,} messages to a local SMTP server",
                value=rate,
                unit="msg/s",
            ).check(target(f">= {SEND_RATE} msg/s", rate, lambda v: v >= SEND_RATE))
        )
        measurements.append(
            Measurement(
                name=f"worker peak memory, largest process ({len(peaks)} process(es), {sum(peaks):.0f} MB in all)",
                value=max(peaks),
                unit="MB",
            ).check(target(f"< {WORKER_MB} MB", max(peaks), lambda v: v < WORKER_MB))
        )
        measurements.append(_hand_over_window(customer_ids[:200]))
    finally:
        _cleanup()
    return measurements


def _hand_over_window(customer_ids: list[int]) -> Measurement:
    """Send a batch in this process with timings: how long the hand-over record is out before the
    end-of-data line follows it."""
    from django.core.mail.backends.smtp import EmailBackend

    from touchpoints.outreach.channels.email import Delivery, Timings
    from touchpoints.outreach.models import OutboundMessage
    from touchpoints.outreach.outbox import messages_send

    OutboundMessage.objects.filter(key__startswith=f"{PREFIX}:").delete()
    with no_quiet_hours(), smtp_sink_process() as (port, _delivered):
        ids = _queue(customer_ids, "window")
        timings = Timings()
        delivery = Delivery(EmailBackend(host="127.0.0.1", port=port, timeout=10), timings=timings)
        started = time.perf_counter()
        for i in range(0, len(ids), 100):
            messages_send(message_ids=ids[i : i + 100], delivery=delivery)
        per_message = (time.perf_counter() - started) / max(1, len(ids))
        delivery.close()
    gaps = timings.record_to_end_of_data
    median_us = statistics.median(gaps) * 1e6 if gaps else None
    worst_us = max(gaps) * 1e6 if gaps else 0
    return Measurement(
        name=f"hand-over window: record out -> end of data out, median of {len(gaps)} (max {worst_us:.0f} µs; "
        f"{per_message * 1000:.1f} ms per message in one process)",
        value=median_us,
        unit="µs",
    )


OUTBOX_MESSAGES = 20_000
OUTBOX_KEY = "bench-outbox-list:"  # kept between runs (not bench-outreach: _cleanup leaves these alone)
OUTBOX_P95_MS = 40


def outbox_seed() -> None:
    """Messages of every status, purpose and origin for the outbox list, written once (as the feedback seed is)."""
    import datetime as dt
    import itertools

    from touchpoints.outreach.models import Broadcast, OutboundMessage

    if OutboundMessage.objects.filter(key__startswith=OUTBOX_KEY).exists():
        return
    from touchpoints.outreach.models import MessageTemplate

    template, _created = MessageTemplate.objects.get_or_create(
        slug="bench-outbox-list",
        defaults={"name": "Bench outbox list", "purpose": "marketing", "subject_ja": "ご案内", "body_ja": "本文"},
    )
    broadcast, _created = Broadcast.objects.get_or_create(
        name="bench-outbox-list spring sale",
        defaults={"template": template, "send_at": timezone.now(), "status": Broadcast.Status.DONE},
    )
    customers = list(Customer.objects.order_by("pk").values_list("pk", "email")[:OUTBOX_MESSAGES])
    statuses = itertools.cycle(["sent", "sent", "sent", "failed", "skipped", "queued"])
    now = timezone.now()
    rows = []
    for i, (customer_id, email) in enumerate(customers):
        status = next(statuses)
        rows.append(
            OutboundMessage(
                key=f"{OUTBOX_KEY}{i}",
                customer_id=customer_id,
                channel="email",
                purpose="marketing" if i % 2 else "transactional",
                language="ja",
                to_address=email,
                subject=f"ご案内 {i} <spring sale>",
                body="本文",
                status=status,
                skip_reason="no_consent" if status == "skipped" else "",
                attempts=3 if status == "failed" else 1,
                last_error="550 mailbox unavailable " * 5 if status == "failed" else "",
                sent_at=now - dt.timedelta(minutes=i) if status == "sent" else None,
                next_attempt_at=now + dt.timedelta(minutes=5),
                broadcast=broadcast if i % 3 == 0 else None,
                source_app="loyalty" if i % 3 == 1 else "",
                created_at=now - dt.timedelta(minutes=i),
            )
        )
    OutboundMessage.objects.bulk_create(rows, batch_size=2000)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE touchpoints_outboundmessage")


@benchmark("outreach")
def outbox_list(ctx: Context) -> list[Measurement]:
    """The outbox page: every message, newest first, and the failed ones."""
    from urllib.parse import urlencode

    from django.urls import reverse

    from tests.benchmarks.harness import floor_target

    outbox_seed()
    url = reverse("outreach:outbox")
    results = []
    for name, params in (("outbox list: first page", {}), ("outbox list: failed", {"status": "failed"})):
        m = ctx.time_page(
            name,
            f"{url}?{urlencode(params)}" if params else url,
            main_query=lambda sql: (
                'FROM "touchpoints_outboundmessage"' in sql and "LIMIT" in sql and "COUNT(" not in sql
            ),
        )
        m.check(target(f"p95 < {OUTBOX_P95_MS} ms", m.p95_ms, lambda v: v < OUTBOX_P95_MS), floor_target(m, 1.5))
        results.append(m)
    return results
