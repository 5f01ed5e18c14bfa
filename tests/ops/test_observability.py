"""/metrics (the domain's gauges, for a scraper with the token only), the JSON request log without personal
data, the Celery failure counter and Sentry's opt-in set-up."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging

import pytest
import sentry_sdk
from django.urls import reverse
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from crm.insights.models import RollupWatermark
from crm.observability.logs import JsonFormatter, RequestIdFilter
from crm.observability.models import TaskFailure
from crm.observability.sentry import sentry_init
from crm.observability.services import task_failure_record
from feedback.models import Status
from tests.customers.test_views import form_data
from tests.factories import CustomerFactory, FollowUpRuleFactory, ticket_create
from touchpoints.outreach.models import Broadcast, FollowUp, OutboundMessage
from touchpoints.outreach.outbox import message_enqueue

pytestmark = pytest.mark.django_db
TOKEN = "scrape-token-for-tests"


def scrape(client) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_metrics_is_off_without_a_token_and_refuses_a_wrong_one(client, settings):
    settings.TSUNAGU_METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    settings.TSUNAGU_METRICS_TOKEN = TOKEN
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.post("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 405


def test_metrics_report_the_queues_an_operator_watches(client, settings):
    # given: two queued messages (one due an hour ago), a failed one, due and overdue follow-ups, a running
    # broadcast, an open ticket whose first response was missed, rollups refreshed ten minutes ago, a failing task
    settings.TSUNAGU_METRICS_TOKEN = TOKEN
    now = timezone.now()
    customer = CustomerFactory()
    old = message_enqueue(customer=customer, key="m-old", purpose="transactional", subject="s", body="b")
    OutboundMessage.objects.filter(pk=old.pk).update(created_at=now - dt.timedelta(hours=2))
    OutboundMessage.objects.filter(pk=old.pk).update(next_attempt_at=now - dt.timedelta(hours=1))
    message_enqueue(customer=customer, key="m-new", purpose="transactional", subject="s", body="b")
    failed = message_enqueue(customer=customer, key="m-failed", purpose="transactional", subject="s", body="b")
    OutboundMessage.objects.filter(pk=failed.pk).update(status="failed")
    rule = FollowUpRuleFactory()
    for key, due in [("a", now - dt.timedelta(seconds=10)), ("b", now - dt.timedelta(hours=1)),
                     ("c", now + dt.timedelta(days=1))]:  # fmt: skip
        FollowUp.objects.create(rule=rule, customer=customer, trigger_key=key, triggered_at=now, due_at=due)
    Broadcast.objects.create(name="Sale", template=rule.template, send_at=now, status="sending")
    ticket = ticket_create(customer=customer)
    ticket.__class__.objects.filter(pk=ticket.pk).update(status=Status.OPEN, first_response_breached=True)
    RollupWatermark.objects.create(refreshed_at=now - dt.timedelta(minutes=10))
    task_failure_record(task="touchpoints.tasks.outbox_send_task")
    task_failure_record(task="touchpoints.tasks.outbox_send_task")

    # when
    samples = scrape(client)

    # then
    assert samples[("tsunagu_outbox_messages", (("status", "queued"),))] == 2
    assert samples[("tsunagu_outbox_messages", (("status", "failed"),))] == 1
    assert samples[("tsunagu_outbox_messages", (("status", "sending"),))] == 0
    assert 7100 < samples[("tsunagu_outbox_oldest_queued_seconds", ())] < 7300
    assert 3500 < samples[("tsunagu_outbox_oldest_due_seconds", ())] < 3700
    assert samples[("tsunagu_followups_due", ())] == 2
    assert samples[("tsunagu_followups_overdue", ())] == 1
    assert samples[("tsunagu_broadcasts_running", (("status", "sending"),))] == 1
    assert samples[("tsunagu_sla_breaches_open", (("target", "first_response"),))] == 1
    assert samples[("tsunagu_sla_breaches_open", (("target", "resolution"),))] == 0
    assert 590 < samples[("tsunagu_rollups_lag_seconds", ())] < 700
    assert ("tsunagu_funnel_pending", ()) in samples
    assert samples[("tsunagu_celery_task_failures_total", (("task", "touchpoints.tasks.outbox_send_task"),))] == 2


def test_a_failing_celery_task_is_counted(settings):
    # given: tasks run inline, and one that raises
    from crm.celery import app

    settings.CELERY_TASK_ALWAYS_EAGER = True

    @app.task(name="tests.ops.always_fails")
    def always_fails() -> None:
        raise RuntimeError("boom")

    # when
    always_fails.apply()
    always_fails.apply()

    # then
    assert TaskFailure.objects.get(task="tests.ops.always_fails").failures == 2


@pytest.fixture
def json_log():
    """The root logger's lines, as the JSON formatter writes them."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.INFO)
    yield stream
    root.setLevel(level)
    root.removeHandler(handler)


def test_each_request_logs_one_json_line_with_its_id_and_user_but_no_personal_data(support_client, support, json_log):
    # when: a customer is created with a name, email and phone, then searched for by name and phone
    created = support_client.post(
        reverse("customers:create"),
        form_data(family_name="Kusanagi", given_name="Motoko", email="motoko.k@example.com", phone="090-8765-4321"),
        HTTP_X_REQUEST_ID="req-from-nginx-0001",
    )
    assert created.status_code == 302
    assert created["X-Request-ID"] == "req-from-nginx-0001"
    listed = support_client.get(reverse("customers:list"), {"q": "Kusanagi 09087654321"})
    assert listed.status_code == 200

    # then: each line is a JSON object; the requests carry their ids, the user's id and timing
    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]
    requests = [line for line in lines if line["logger"] == "tsunagu.request"]
    assert [(r["method"], r["status"]) for r in requests] == [("POST", 302), ("GET", 200)]
    assert requests[0]["request_id"] == "req-from-nginx-0001"
    assert len(requests[1]["request_id"]) == 32 and requests[1]["request_id"] == listed["X-Request-ID"]
    assert {r["user_id"] for r in requests} == {support.pk}
    assert all(r["duration_ms"] >= 0 and r["route"] for r in requests)
    text = json_log.getvalue().lower()
    for personal in ["kusanagi", "motoko", "example.com", "8765", "4321"]:
        assert personal not in text


def test_a_bad_request_id_is_replaced(client, json_log):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="<script>alert(1)</script>")
    assert response["X-Request-ID"] != "<script>alert(1)</script>"
    assert "<script>" not in json_log.getvalue()


def test_sentry_starts_only_with_a_dsn_and_sends_no_personal_data():
    try:
        sentry_init(dsn="http://public@127.0.0.1:9/1", environment="test", traces_sample_rate=0)
        client = sentry_sdk.get_client()
        assert client.is_active()
        collected = client.options["data_collection"]
        assert collected["user_info"] is False
        assert collected["http_bodies"] == []
        assert collected["stack_frame_variables"] is False
    finally:
        sentry_sdk.init(dsn=None)  # the client of the rest of the session sends nothing
    assert sentry_sdk.get_client().options["dsn"] is None
