"""The domain's gauges for Prometheus, read from the database at scrape time.

Every figure comes from PostgreSQL when the scraper asks, so it is the same whichever gunicorn process
answers and however many there are (no per-process counters, no multiprocess directory to share). Each query
reads an index the pages or jobs already have; a scrape costs a dozen small queries.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator

from django.conf import settings
from django.db.models import Count, Min, Q
from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from crm.insights.models import RollupDirty, RollupWatermark
from feedback.models import ACTIVE_STATUSES, Ticket
from touchpoints.models import FunnelJournal, FunnelReach, FunnelStay
from touchpoints.outreach.models import Broadcast, FollowUp, OutboundMessage

from .models import TaskFailure

# A follow-up still scheduled this long after its due time has been missed by the dispatcher (beat or workers
# down): a few ticks, since one tick of delay is normal.
OVERDUE_TICKS = 5


def _age(now: dt.datetime, moment: dt.datetime | None) -> float:
    return max((now - moment).total_seconds(), 0.0) if moment else 0.0


class DomainCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        started = time.monotonic()
        now = timezone.now()
        yield from self._outbox(now)
        yield from self._followups(now)
        yield from self._broadcasts()
        yield from self._tickets(now)
        yield from self._rollups(now)
        yield from self._celery()
        yield GaugeMetricFamily(
            "tsunagu_scrape_duration_seconds",
            "Time the database queries of this scrape took.",
            value=time.monotonic() - started,
        )

    def _outbox(self, now: dt.datetime) -> Iterator[Metric]:
        watched = [OutboundMessage.Status.QUEUED, OutboundMessage.Status.SENDING, OutboundMessage.Status.FAILED]
        counts = dict(
            OutboundMessage.objects.filter(status__in=watched).values_list("status").annotate(n=Count("pk")).order_by()
        )
        gauge = GaugeMetricFamily(
            "tsunagu_outbox_messages", "Outbox messages queued, being sent, or failed for good.", labels=["status"]
        )
        for status in watched:
            gauge.add_metric([str(status)], counts.get(status, 0))
        yield gauge
        queued = OutboundMessage.objects.filter(status=OutboundMessage.Status.QUEUED)
        oldest = queued.aggregate(at=Min("created_at"))["at"]
        oldest_due = queued.filter(next_attempt_at__lte=now).aggregate(at=Min("next_attempt_at"))["at"]
        yield GaugeMetricFamily(
            "tsunagu_outbox_oldest_queued_seconds",
            "Age of the oldest queued message (quiet hours and retries wait here too).",
            value=_age(now, oldest),
        )
        yield GaugeMetricFamily(
            "tsunagu_outbox_oldest_due_seconds",
            "How long the longest-waiting message due now has been due (grows when no worker sends).",
            value=_age(now, oldest_due),
        )

    def _followups(self, now: dt.datetime) -> Iterator[Metric]:
        overdue_at = now - dt.timedelta(seconds=OVERDUE_TICKS * settings.TSUNAGU_OUTREACH_TICK_SECONDS)
        figures = FollowUp.objects.filter(status=FollowUp.Status.SCHEDULED, due_at__lte=now).aggregate(
            due=Count("pk"), overdue=Count("pk", filter=Q(due_at__lte=overdue_at)), oldest=Min("due_at")
        )
        yield GaugeMetricFamily("tsunagu_followups_due", "Follow-ups due and not dispatched yet.", figures["due"])
        yield GaugeMetricFamily(
            "tsunagu_followups_overdue",
            f"Follow-ups still waiting {OVERDUE_TICKS} dispatcher ticks after their due time.",
            figures["overdue"],
        )
        yield GaugeMetricFamily(
            "tsunagu_followups_oldest_due_seconds",
            "How long the oldest due follow-up has waited.",
            _age(now, figures["oldest"]),
        )

    def _broadcasts(self) -> Iterator[Metric]:
        running = [Broadcast.Status.PREPARING, Broadcast.Status.SENDING]
        counts = dict(
            Broadcast.objects.filter(status__in=running).values_list("status").annotate(n=Count("pk")).order_by()
        )
        gauge = GaugeMetricFamily("tsunagu_broadcasts_running", "Broadcasts being prepared or sent.", labels=["status"])
        for status in running:
            gauge.add_metric([str(status)], counts.get(status, 0))
        yield gauge

    def _tickets(self, now: dt.datetime) -> Iterator[Metric]:
        figures = Ticket.objects.filter(status__in=ACTIVE_STATUSES).aggregate(
            first_response=Count("pk", filter=Q(first_response_breached=True)),
            resolution=Count("pk", filter=Q(resolution_breached=True)),
        )
        gauge = GaugeMetricFamily(
            "tsunagu_sla_breaches_open", "Tickets still open whose SLA target was missed.", labels=["target"]
        )
        for target, n in figures.items():
            gauge.add_metric([target], n)
        yield gauge

    def _rollups(self, now: dt.datetime) -> Iterator[Metric]:
        watermark = RollupWatermark.objects.order_by("pk").first()
        refreshed = watermark.refreshed_at if watermark else None
        yield GaugeMetricFamily(
            "tsunagu_rollups_lag_seconds",
            "Age of the insights rollups (time since the last refresh's watermark; 0 before the first).",
            _age(now, refreshed),
        )
        yield GaugeMetricFamily(
            "tsunagu_rollups_dirty",
            "Customers and days marked for the next rollup refresh.",
            RollupDirty.objects.count(),
        )
        pending = (
            FunnelReach.objects.filter(pending=True).count()
            + FunnelStay.objects.filter(pending=True).count()
            + FunnelJournal.objects.count()
        )
        yield GaugeMetricFamily(
            "tsunagu_funnel_pending",
            "Funnel changes not folded into its rollups yet (pending deltas and journal entries).",
            pending,
        )

    def _celery(self) -> Iterator[Metric]:
        counter = CounterMetricFamily(
            "tsunagu_celery_task_failures", "Celery task runs that ended in an exception, per task.", labels=["task"]
        )
        for task, failures in TaskFailure.objects.values_list("task", "failures"):
            counter.add_metric([task], failures)
        yield counter
