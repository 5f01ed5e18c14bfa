"""``refresh()``: bring the rollups up to date with what changed since the watermark (the first run rebuilds)."""

from __future__ import annotations

import datetime as dt
import logging
import time

from django.db import transaction
from django.db.models import Count, Min, Q, QuerySet, Sum
from django.utils import timezone

from customers.localtime import local_date
from customers.models import Customer
from feedback.models import ACTIVE_STATUSES, Survey, Ticket
from loyalty.models import LedgerEntry, Membership
from touchpoints.models import Touchpoint

from ..models import DailyRollup, RollupDirty, RollupWatermark
from .daily import _day_values, recompute_days, refresh_responses, tier_distribution
from .definitions import SAFETY_MARGIN, lapse_days
from .from_scratch import RunResult, _lock, _rebuild
from .states import refresh_customers

logger = logging.getLogger(__name__)

# --- Refresh ---------------------------------------------------------------------------------------


def refresh() -> RunResult:
    """Bring the rollups up to date with what changed since the last run (the first run rebuilds)."""
    with transaction.atomic():
        watermark = _lock()
        lapse = lapse_days()
        if watermark.refreshed_at is None or watermark.lapse_days != lapse:
            return _rebuild(watermark)
        return _refresh(watermark, lapse)


def _refresh(watermark: RollupWatermark, lapse: int) -> RunResult:
    result = RunResult()
    now = timezone.now()
    today = timezone.localdate(now)
    since = watermark.refreshed_at - SAFETY_MARGIN
    started = time.monotonic()

    dirty = list(RollupDirty.objects.values_list("pk", "customer_id", "day"))
    dirty_days = {day for _pk, _c, day in dirty if day}
    customers = {c for _pk, c, _day in dirty if c}
    tp_days: set[dt.date] = set()
    for customer_id, at in (
        Touchpoint.objects.filter(created_at__gte=since).order_by().values_list("customer_id", "occurred_at")
    ):
        customers.add(customer_id)
        tp_days.add(local_date(at))
    ledger_days: set[dt.date] = set()
    for customer_id, at in (
        LedgerEntry.objects.filter(created_at__gte=since)
        .order_by()
        .values_list("membership__customer_id", "created_at")
    ):
        customers.add(customer_id)
        ledger_days.add(local_date(at))
    result.timings["find"] = time.monotonic() - started

    started = time.monotonic()
    changed_tp_days, changed_ledger_days = refresh_customers(customers, lapse=lapse)
    result.customers = len(customers)
    result.timings["customers"] = time.monotonic() - started

    started = time.monotonic()
    days = {
        "customers": {
            local_date(at) for at in Customer.objects.filter(created_at__gte=since).values_list("created_at", flat=True)
        },
        "touchpoints": tp_days | changed_tp_days,
        "surveys": {
            local_date(at)
            for at in Survey.objects.filter(
                Q(answered_at__gte=since) | Q(created_at__gte=since, answered_at__isnull=False)
            )
            .order_by()
            .values_list("answered_at", flat=True)
        },
        "ledger": ledger_days | changed_ledger_days,
        "tickets": _since_first(
            Ticket.objects.filter(
                Q(updated_at__gte=since)
                | Q(first_response_due_at__gte=since - dt.timedelta(days=1), first_response_due_at__lte=now)
                | Q(resolution_due_at__gte=since - dt.timedelta(days=1), resolution_due_at__lte=now)
            ),
            "created_at",
            today,
        ),
        "memberships": {
            local_date(at)
            for pair in Membership.objects.filter(updated_at__gte=since).values_list("joined_at", "closed_at")
            for at in pair
            if at is not None
        },
    }
    days = {source: found | dirty_days for source, found in days.items()}
    result.days = recompute_days(days, now=now)
    result.days += _memberships_check(now)
    refresh_responses(days["tickets"])
    result.timings["days"] = time.monotonic() - started

    RollupDirty.objects.filter(pk__in=[pk for pk, _c, _d in dirty]).delete()
    watermark.refreshed_at = now
    watermark.tiers = tier_distribution()
    watermark.open_tickets = Ticket.objects.filter(status__in=ACTIVE_STATUSES).count()
    watermark.save(update_fields=["refreshed_at", "tiers", "open_tickets"])
    logger.info("rollups refreshed customers=%s days=%s timings=%s", result.customers, result.days, result.timings)
    return result


def _memberships_check(now: dt.datetime) -> int:
    """A membership reopened (its closing day cleared) leaves no trace on its old closing day: when the rollup's
    joins and closings no longer add up to the memberships, recompute every day of them (rare)."""
    totals = DailyRollup.objects.aggregate(joined=Sum("members_joined"), closed=Sum("members_closed"))
    actual = Membership.objects.aggregate(joined=Count("pk"), closed=Count("closed_at"))
    if (totals["joined"] or 0, totals["closed"] or 0) == (actual["joined"], actual["closed"]):
        return 0
    values = _day_values("memberships", None)
    days = set(values) | set(
        DailyRollup.objects.filter(Q(members_joined__gt=0) | Q(members_closed__gt=0)).values_list("day", flat=True)
    )
    return recompute_days({"memberships": days}, now=now)


def _since_first(qs: QuerySet, field_name: str, today: dt.date) -> set[dt.date]:
    """Every day from the earliest ``field_name`` of ``qs`` to today (empty when ``qs`` is)."""
    first = qs.aggregate(first=Min(field_name))["first"]
    if first is None:
        return set()
    day = local_date(first)
    return {day + dt.timedelta(days=i) for i in range((today - day).days + 1)}
