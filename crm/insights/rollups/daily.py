"""The daily rows (``DailyRollup``), each recomputed from the raw tables for the days asked (delete + insert), and
the tickets' first response times (``TicketResponse``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

from django.db import connection
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from customers.localtime import local_date
from customers.models import Customer
from feedback.models import Survey, Ticket
from loyalty.models import LedgerEntry, Membership
from touchpoints.models import Direction, Touchpoint, TouchpointType

from ..models import DailyRollup, TicketResponse
from .definitions import CHUNK, day_bounds

# --- Daily rows ------------------------------------------------------------------------------------

SOURCES = ["customers", "touchpoints", "tickets", "surveys", "ledger", "memberships"]


def _ranges(days: Iterable[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Contiguous runs of days, as (first, last)."""
    runs: list[tuple[dt.date, dt.date]] = []
    for day in sorted(set(days)):
        if runs and runs[-1][1] + dt.timedelta(days=1) == day:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def _within(field_name: str, days: set[dt.date] | None) -> Q:
    """Rows whose ``field_name`` falls on one of ``days`` (None: every day)."""
    if days is None:
        return Q(**{f"{field_name}__isnull": False})
    q = Q(pk__in=[])
    for first, last in _ranges(days):
        start, end = day_bounds(first, last)
        q |= Q(**{f"{field_name}__gte": start, f"{field_name}__lt": end})
    return q


def _by_day(qs: QuerySet, field_name: str, days: set[dt.date] | None, **aggregates) -> dict[dt.date, dict]:
    rows = (
        qs.filter(_within(field_name, days))
        .order_by()
        .annotate(_day=TruncDate(field_name))
        .values("_day")
        .annotate(**aggregates)
    )
    return {r.pop("_day"): r for r in rows}


def _day_values(source: str, days: set[dt.date] | None) -> dict[dt.date, dict]:
    """The columns of ``source`` for each of ``days`` that has any (None: every day)."""
    jpy = Q(currency="JPY")
    purchase, refund = Q(type__kind=TouchpointType.Kind.PURCHASE), Q(type__kind=TouchpointType.Kind.RETURN)
    if source == "customers":
        return _by_day(Customer.objects.all(), "created_at", days, new_customers=Count("pk"))
    if source == "touchpoints":
        return _by_day(
            Touchpoint.objects.all(),
            "occurred_at",
            days,
            touchpoints=Count("pk", filter=~Q(source=Touchpoint.Source.SYSTEM, direction=Direction.OUTBOUND)),
            orders=Count("pk", filter=purchase),
            sales=Sum("amount", filter=purchase & jpy, default=Decimal(0)),
            returns=Count("pk", filter=refund),
            refunds=Sum("amount", filter=refund & jpy, default=Decimal(0)),
        )
    if source == "tickets":
        # The rules of feedback.figures.feedback_figures, by day.
        has_target = Q(first_response_due_at__isnull=False)
        opened = _by_day(
            Ticket.objects.all(),
            "created_at",
            days,
            tickets_opened=Count("pk"),
            first_responses_due=Count(
                "pk", filter=has_target & (Q(first_responded_at__isnull=False) | Q(first_response_breached=True))
            ),
            first_responses_met=Count(
                "pk", filter=has_target & Q(first_responded_at__isnull=False, first_response_breached=False)
            ),
        )
        has_target = Q(resolution_due_at__isnull=False)
        resolved = _by_day(
            Ticket.objects.all(),
            "resolved_at",
            days,
            tickets_resolved=Count("pk"),
            resolutions_due=Count("pk", filter=has_target),
            resolutions_met=Count("pk", filter=has_target & Q(resolution_breached=False)),
        )
        for day, values in resolved.items():
            opened.setdefault(day, {}).update(values)
        return opened
    if source == "surveys":
        csat, nps = Q(kind=Survey.Kind.CSAT), Q(kind=Survey.Kind.NPS)
        return _by_day(
            Survey.objects.all(),
            "answered_at",
            days,
            csat_answers=Count("pk", filter=csat),
            csat_satisfied=Count("pk", filter=csat & Q(score__gte=4)),
            csat_score_sum=Sum("score", filter=csat, default=0),
            nps_answers=Count("pk", filter=nps),
            nps_promoters=Count("pk", filter=nps & Q(score__gte=9)),
            nps_passives=Count("pk", filter=nps & Q(score__in=[7, 8])),
            nps_detractors=Count("pk", filter=nps & Q(score__lte=6)),
        )
    if source == "ledger":
        kinds = LedgerEntry.Kind
        return _by_day(
            LedgerEntry.objects.all(),
            "created_at",
            days,
            points_earned=Sum("points", filter=Q(kind=kinds.EARN), default=0),
            points_bonus=Sum("points", filter=Q(kind__in=[kinds.BONUS, kinds.REFERRAL]), default=0),
            points_redeemed=Sum("points", filter=Q(kind=kinds.REDEEM), default=0),
            points_expired=Sum("points", filter=Q(kind=kinds.EXPIRE), default=0),
            points_adjusted=Sum("points", filter=Q(kind__in=[kinds.ADJUST, kinds.REVERSE]), default=0),
        )
    if source == "memberships":
        joined = _by_day(Membership.objects.all(), "joined_at", days, members_joined=Count("pk"))
        closed = _by_day(Membership.objects.all(), "closed_at", days, members_closed=Count("pk"))
        for day, values in closed.items():
            joined.setdefault(day, {}).update(values)
        return joined
    raise ValueError(source)


SOURCE_FIELDS = {
    "customers": ["new_customers"],
    "touchpoints": ["touchpoints", "orders", "sales", "returns", "refunds"],
    "tickets": [
        "tickets_opened",
        "first_responses_due",
        "first_responses_met",
        "tickets_resolved",
        "resolutions_due",
        "resolutions_met",
    ],
    "surveys": [
        "csat_answers",
        "csat_satisfied",
        "csat_score_sum",
        "nps_answers",
        "nps_promoters",
        "nps_passives",
        "nps_detractors",
    ],
    "ledger": ["points_earned", "points_bonus", "points_redeemed", "points_expired", "points_adjusted"],
    "memberships": ["members_joined", "members_closed"],
}
ALL_FIELDS = [f for fields in SOURCE_FIELDS.values() for f in fields]


def _is_empty(row: DailyRollup) -> bool:
    return not any(getattr(row, f) for f in ALL_FIELDS)


def recompute_days(days_by_source: dict[str, set[dt.date]], *, now: dt.datetime) -> int:
    """Recompute the columns of each source on its days; returns the number of daily rows written."""
    days_by_source = {s: d for s, d in days_by_source.items() if d}
    every_day = set().union(*days_by_source.values()) if days_by_source else set()
    if not every_day:
        return 0
    rows = {r.day: r for r in DailyRollup.objects.filter(day__in=sorted(every_day))}
    for source, days in days_by_source.items():
        values = _day_values(source, days)
        for day in days:
            row = rows.setdefault(day, DailyRollup(day=day, refreshed_at=now))
            found = values.get(day, {})
            for f in SOURCE_FIELDS[source]:
                setattr(row, f, found.get(f) or 0)
    keep, drop = [], []
    for row in rows.values():
        row.revenue = Decimal(row.sales) - Decimal(row.refunds)
        row.refreshed_at = now
        (drop if _is_empty(row) else keep).append(row)
    DailyRollup.objects.filter(day__in=[r.day for r in drop]).delete()
    DailyRollup.objects.filter(day__in=[r.day for r in keep]).delete()
    DailyRollup.objects.bulk_create(keep, batch_size=CHUNK)
    return len(keep)


def refresh_responses(days: set[dt.date] | None) -> None:
    """The first response times of the tickets opened on ``days`` (None: every day), recomputed."""
    if days is not None and not days:
        return
    stale = TicketResponse.objects.all() if days is None else TicketResponse.objects.filter(day__in=sorted(days))
    stale.delete()
    rows = (
        Ticket.objects.filter(_within("created_at", days), first_responded_at__isnull=False)
        .order_by()
        .values_list("pk", "created_at", "first_responded_at")
    )
    TicketResponse.objects.bulk_create(
        (
            TicketResponse(ticket_id=pk, day=local_date(opened), seconds=(answered - opened).total_seconds())
            for pk, opened, answered in rows.iterator(chunk_size=CHUNK)
        ),
        batch_size=CHUNK,
    )


def _rebuild_responses_sql() -> None:
    tz = timezone.get_current_timezone_name()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {TicketResponse._meta.db_table} (ticket_id, day, seconds) "  # noqa: S608
            f"SELECT id, (created_at AT TIME ZONE %s)::date, EXTRACT(EPOCH FROM first_responded_at - created_at) "
            f"FROM {Ticket._meta.db_table} WHERE first_responded_at IS NOT NULL",
            [tz],
        )


def _rebuild_days(now: dt.datetime) -> None:
    rows: dict[dt.date, DailyRollup] = {}
    for source in SOURCES:
        for day, values in _day_values(source, None).items():
            row = rows.setdefault(day, DailyRollup(day=day, refreshed_at=now))
            for f in SOURCE_FIELDS[source]:
                setattr(row, f, values.get(f) or 0)
    for row in rows.values():
        row.revenue = Decimal(row.sales) - Decimal(row.refunds)
    DailyRollup.objects.bulk_create([r for r in rows.values() if not _is_empty(r)], batch_size=CHUNK)


def tier_distribution() -> list[list]:
    """[tier name, memberships] of the memberships not closed, now (kept on the watermark row at each run)."""
    rows = (
        Membership.objects.exclude(status=Membership.Status.CLOSED)
        .values("tier__name", "tier__position")
        .annotate(n=Count("pk"))
        .order_by("tier__position", "tier__name")
    )
    return [[r["tier__name"] or "", r["n"]] for r in rows]
