"""LINE: a real worker's sending rate through the outbox with multicast, and the webhook's answer time.

Targets: one worker sends >= 400 LINE messages/s to the LINE stand-in (tests/line_standin.py, a thread of this
process) with multicast (up to 500 recipients a request); the webhook (signature check, storing the events once,
publishing the task) answers in < 20 ms at the 95th percentile. The section creates its own customers and LINE
users and deletes them afterwards.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.utils import timezone

from customers.models import Customer
from tests.benchmarks.bench_outreach import no_quiet_hours, private_broker
from tests.benchmarks.harness import Context, Measurement, benchmark, percentile, target

SEND_MESSAGES = int(os.environ.get("BENCH_LINE_MESSAGES", 10_000))
SEND_RATE = 400
WEBHOOK_REQUESTS = int(os.environ.get("BENCH_LINE_WEBHOOKS", 300))
WEBHOOK_P95_MS = 20
PREFIX = "bench-line"
PROVIDER = "bench-provider"


def _customers(n: int) -> list[Customer]:
    from tests.factories import line_linked_customers

    return line_linked_customers(n, provider=PROVIDER, family_name="Bench", prefix=PREFIX)


def _cleanup() -> None:
    from touchpoints.outreach.models import LineUser, LineWebhookEvent, MessageTemplate, OutboundMessage

    OutboundMessage.objects.filter(key__startswith=f"{PREFIX}:").delete()
    LineUser.objects.filter(provider=PROVIDER).delete()
    LineWebhookEvent.objects.filter(event_id__startswith="BENCH").delete()
    Customer.objects.filter(family_name="Bench", given_name__startswith=PREFIX).delete()
    MessageTemplate.objects.filter(slug=PREFIX).delete()


def _queue(customers: list[Customer], tag: str) -> list[int]:
    from touchpoints.outreach.models import MessageTemplate, OutboundMessage
    from touchpoints.outreach.outbox import message_build, messages_insert
    from touchpoints.outreach.outbox.policy import line_users_attach

    template, _created = MessageTemplate.objects.update_or_create(
        slug=PREFIX,
        defaults={"name": "Bench LINE", "channel": "line", "purpose": "marketing", "line_body_ja": "冬のセール"},
    )
    line_users_attach(customers)
    now = timezone.now()
    messages = [
        message_build(customer=c, key=f"{PREFIX}:{tag}:{c.pk}", purpose="marketing", template=template, now=now)
        for c in customers
    ]
    messages_insert(messages, now=now)
    return list(OutboundMessage.objects.filter(key__startswith=f"{PREFIX}:{tag}:").values_list("pk", flat=True))


@benchmark("line")
def line_sending(ctx: Context) -> list[Measurement]:
    from tests.celery.processes import database_url, start_worker, wait_for
    from tests.line_standin import SECRET, TOKEN, LineStandin
    from touchpoints.outreach.models import OutboundMessage
    from touchpoints.outreach.outbox import publish

    _cleanup()
    concurrency = int(os.environ.get("BENCH_LINE_CONCURRENCY", 4))
    previous = (settings.LINE_PROVIDER_ID, settings.LINE_API_HOST, os.environ.get("LINE_CHANNEL_ACCESS_TOKEN"))
    try:
        with (
            private_broker() as redis,
            no_quiet_hours(),
            LineStandin() as standin,
            tempfile.TemporaryDirectory() as logs,
        ):
            settings.LINE_PROVIDER_ID, settings.LINE_API_HOST = PROVIDER, standin.url
            os.environ["LINE_CHANNEL_ACCESS_TOKEN"] = TOKEN
            customers = _customers(SEND_MESSAGES + 500)
            env = {
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "tests.celery.worker_settings",
                "DATABASE_URL": database_url(connection.settings_dict),
                "CELERY_BROKER_URL": redis.url,
                "TSUNAGU_QUIET_HOURS": "",
                "DJANGO_LOG_LEVEL": "WARNING",
                "LINE_API_HOST": standin.url,
                "LINE_CHANNEL_SECRET": SECRET,
                "LINE_PROVIDER_ID": PROVIDER,
                "LINE_CHANNEL_ACCESS_TOKEN": TOKEN,
            }
            worker = start_worker(env, Path(logs), name="bench-line-worker", concurrency=concurrency, pool="threads")
            try:
                warm = _queue(customers[:500], "warm")
                publish(warm)
                wait_for(lambda: standin.delivered_count() >= len(warm), timeout=120, what="the warm-up")
                ids = _queue(customers[500:], "send")
                started = time.perf_counter()
                publish(ids)
                wait_for(
                    lambda: not OutboundMessage.objects.filter(pk__in=ids, status__in=["queued", "sending"]).exists(),
                    timeout=600,
                    interval=0.05,
                    what="every LINE message sent",
                )
                seconds = time.perf_counter() - started
                sent = OutboundMessage.objects.filter(pk__in=ids, status="sent").count()
            finally:
                worker.stop()
        rate = sent / seconds
        return [
            Measurement(
                name=f"one worker (threads, concurrency {concurrency}) sending {sent:,} LINE messages by multicast",
                value=rate,
                unit="msg/s",
            ).check(target(f">= {SEND_RATE} msg/s", rate, lambda v: v >= SEND_RATE))
        ]
    finally:
        settings.LINE_PROVIDER_ID, settings.LINE_API_HOST = previous[0], previous[1]
        if previous[2] is None:
            os.environ.pop("LINE_CHANNEL_ACCESS_TOKEN", None)
        else:
            os.environ["LINE_CHANNEL_ACCESS_TOKEN"] = previous[2]
        _cleanup()


@benchmark("line")
def webhook(ctx: Context) -> list[Measurement]:
    import json
    import uuid

    from tests.line_standin import SECRET, sign
    from touchpoints.outreach.line import webhook as line_webhook

    _cleanup()
    previous_secret, previous_publish = settings.LINE_CHANNEL_SECRET, line_webhook._publish
    settings.LINE_CHANNEL_SECRET = SECRET
    line_webhook._publish = lambda ids: None  # the broker is not what is measured; the task runs elsewhere
    samples = []
    try:
        for i in range(WEBHOOK_REQUESTS + 20):
            event = {
                "type": "message",
                "mode": "active",
                "timestamp": int(time.time() * 1000),
                "source": {"type": "user", "userId": "U" + uuid.uuid4().hex},
                "webhookEventId": f"BENCH{uuid.uuid4().hex[:21].upper()}",
                "deliveryContext": {"isRedelivery": False},
                "replyToken": uuid.uuid4().hex,
                "message": {"type": "text", "id": str(10**17 + i), "text": "在庫はありますか？"},
            }
            body = json.dumps({"destination": "Ubench", "events": [event]}).encode()
            started = time.perf_counter()
            answer = ctx.client.post(
                "/line/webhook/", data=body, content_type="application/json", headers={"x-line-signature": sign(body)}
            )
            elapsed = (time.perf_counter() - started) * 1000
            assert answer.status_code == 200, answer.status_code
            if i >= 20:
                samples.append(elapsed)
    finally:
        settings.LINE_CHANNEL_SECRET, line_webhook._publish = previous_secret, previous_publish
        _cleanup()
    p95 = percentile(samples, 95)
    return [
        Measurement(
            name=f"LINE webhook: check the signature, store the event once ({len(samples)} requests)",
            median_ms=statistics.median(samples),
            p95_ms=p95,
        ).check(target(f"p95 < {WEBHOOK_P95_MS} ms", p95, lambda v: v < WEBHOOK_P95_MS))
    ]
