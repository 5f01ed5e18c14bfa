"""The insights rollups: kept up to date incrementally, rebuilt from scratch on demand, always equal.

- ``DailyRollup``: one row per business day of summable counts (new customers, activity, orders, revenue,
  tickets, answers, points, memberships), each recomputed from the raw tables (delete + insert: idempotent).
- ``RollupEdge``: for each customer, the succession of their activity days, purchase days (one per purchase)
  and loyalty-entry days, as edges (BEFORE -> d1), (d1 -> d2), …, (dk -> AFTER), aggregated; plus the
  "lapse" rows (last activity day -> the day the customer lapsed, AFTER while open). crm/insights/metrics/ turns
  them into distinct-customer counts over any range of days.
- ``CohortCell``: customers by month of first purchase and months since.
- ``CustomerRollupState``: what each customer currently contributes, so a refresh recomputes only the
  customers touched since the last one and applies the difference.

``refresh()`` (the periodic task, every TSUNAGU_ROLLUP_SECONDS) finds what changed since the watermark, less a
safety margin for transactions that commit late (recomputing twice is harmless): touchpoints and ledger entries
by ``created_at`` (indexed by the crm migration), customers by ``created_at``, answers by ``answered_at`` or
``created_at``, memberships by ``updated_at`` (and a reopened one by the joins and closings no longer adding up),
tickets by ``updated_at`` or a deadline just passed (the SLA job flags breaches without touching ``updated_at``;
a ticket's days are recomputed from its opening day to today, since reopening clears its resolution day), and
the customers and days that crm/insights/receivers.py recorded on merges and deletions. Not seen: a touchpoint deleted
on its own (nothing deletes one but a customer's deletion) and a membership's joining time edited by hand;
``manage.py rollups_rebuild`` puts any such drift right.
``rebuild()`` recomputes everything (set-based SQL on PostgreSQL; the per-customer code elsewhere).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Min, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from customers.models import Customer
from feedback.models import ACTIVE_STATUSES, Survey, Ticket
from loyalty.models import LedgerEntry, Membership
from touchpoints.models import Direction, Touchpoint, TouchpointType

from .models import (
    CohortCell,
    CustomerLapse,
    CustomerRollupState,
    DailyRollup,
    RollupDirty,
    RollupEdge,
    RollupWatermark,
    TicketResponse,
)

logger = logging.getLogger(__name__)

ACTIVITY, PURCHASE, LEDGER, LAPSE = "activity", "purchase", "ledger", "lapse"
# Short edges: the same, with the from day brought forward to at most SHORT + 1 days before the to day. For a range
# of up to SHORT days that changes no answer, and each day then has at most SHORT + 2 rows: the dashboard's
# default ranges read a few thousand rows, not one per earlier day of history.
SHORT = 63
SHORT_SUFFIX = "~"
# Running counts by day (from BEFORE): customers live on a day (active in the lapse window before it), and
# purchasers of the 365 days up to a day, are the sum of the "+" rows minus the "-" rows up to that day.
LIVE_IN, LIVE_OUT = "live+", "live-"
# The same for the 365 days up to a day: customers active, purchasers, customers with a loyalty entry, and
# customers whose first purchase fell in those days and had no second one by that day (not repeat purchasers).
YEAR = 365
YEAR_KINDS = {ACTIVITY: ("act365+", "act365-"), PURCHASE: ("pur365+", "pur365-"), LEDGER: ("led365+", "led365-")}
SINGLE_IN, SINGLE_OUT = "one365+", "one365-"
YEAR_IN, YEAR_OUT = YEAR_KINDS[PURCHASE]
BEFORE = dt.date(1, 1, 1)  # "no earlier day"
AFTER = dt.date(9999, 12, 31)  # "no later day (yet)"
SAFETY_MARGIN = dt.timedelta(minutes=10)
CHUNK = 2000
# Activity = a touchpoint except the messages Tsunagu sends by itself (touchpoints.services.moves_journey).
ACTIVITY_SQL = f"NOT (t.source = '{Touchpoint.Source.SYSTEM}' AND t.direction = '{Direction.OUTBOUND}')"


def lapse_days() -> int:
    """TSUNAGU_LAPSE_DAYS: days without activity after which a customer has lapsed (180)."""
    return max(1, int(settings.TSUNAGU_LAPSE_DAYS))


def activity_touchpoints() -> QuerySet[Touchpoint]:
    return Touchpoint.objects.exclude(source=Touchpoint.Source.SYSTEM, direction=Direction.OUTBOUND).order_by()


def purchase_touchpoints() -> QuerySet[Touchpoint]:
    return Touchpoint.objects.filter(type__kind=TouchpointType.Kind.PURCHASE).order_by()


def day_bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start of ``start``, start of the day after ``end``) in the business time zone."""
    tz = timezone.get_current_timezone()
    return (
        dt.datetime.combine(start, dt.time(), tzinfo=tz),
        dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=tz),
    )


def _local_day(at: dt.datetime) -> dt.date:
    return timezone.localtime(at).date()


# --- Per-customer state and its contributions ----------------------------------------------------------


@dataclass
class State:
    activity: list[int] = field(default_factory=list)  # distinct days (ordinals), sorted
    purchases: list[int] = field(default_factory=list)  # one per purchase, sorted
    ledger: list[int] = field(default_factory=list)  # distinct days, sorted

    def __bool__(self) -> bool:
        return bool(self.activity or self.purchases or self.ledger)


def _pairs(days: list[int]) -> Iterable[tuple[dt.date, dt.date, bool]]:
    """(from, to, from is the first day) for each edge of one customer's sorted days."""
    if not days:
        return
    previous, first = BEFORE, False
    for i, d in enumerate(days):
        day = dt.date.fromordinal(d)
        yield previous, day, first
        previous, first = day, i == 0
    yield previous, AFTER, len(days) == 1


def _month_index(day: dt.date) -> int:
    return day.year * 12 + day.month - 1


def contributions(state: State, lapse: int) -> Counter:
    """The edge and cohort rows one customer adds to the rollups (the SQL of ``_rebuild_customers_sql`` adds
    the same rows for everyone at once)."""
    found: Counter = Counter()
    short = dt.timedelta(days=SHORT + 1)
    for kind, days in ((ACTIVITY, state.activity), (PURCHASE, state.purchases), (LEDGER, state.ledger)):
        for f, t, first in _pairs(days):
            found[("e", kind, f, t, first)] += 1
            if t != AFTER:
                found[("e", kind + SHORT_SUFFIX, f if f == BEFORE else max(f, t - short), t, first)] += 1
            if f == BEFORE:
                continue
            if kind == ACTIVITY:
                # Live on day x (active in the N days before x) for x in [f + 1, min(t, f + N)].
                found[("e", LIVE_IN, BEFORE, f + dt.timedelta(days=1), False)] += 1
                found[("e", LIVE_OUT, BEFORE, min(t, f + dt.timedelta(days=lapse)) + dt.timedelta(days=1), False)] += 1
                if t == AFTER:
                    found[("e", LAPSE, f, AFTER, False)] += 1
                elif (t - f).days > lapse:
                    found[("e", LAPSE, f, f + dt.timedelta(days=lapse), False)] += 1
            if t > f:
                # Active (purchaser…) in the 365 days up to x for x in [f, min(t, f + 365) - 1].
                end = min(t, f + dt.timedelta(days=YEAR))
                plus, minus = YEAR_KINDS[kind]
                found[("e", plus, BEFORE, f, False)] += 1
                found[("e", minus, BEFORE, end, False)] += 1
                if kind == PURCHASE and first:
                    found[("e", SINGLE_IN, BEFORE, f, False)] += 1
                    found[("e", SINGLE_OUT, BEFORE, end, False)] += 1
    if state.purchases:
        months = sorted({_month_index(dt.date.fromordinal(d)) for d in state.purchases})
        first = months[0]
        cohort = dt.date(first // 12, first % 12 + 1, 1)
        for m in months:
            found[("c", cohort, m - first)] += 1
    return found


def lapse_days_of(state: State, lapse: int) -> list[dt.date]:
    """The activity days of one customer not followed by another within ``lapse`` days (CustomerLapse rows)."""
    days = state.activity
    return [dt.date.fromordinal(d) for i, d in enumerate(days) if i + 1 == len(days) or days[i + 1] - d > lapse]


def _store_lapses(states: dict[int, State | None], lapse: int) -> None:
    """Replace these customers' CustomerLapse rows with those of their new state (None: the customer is gone)."""
    ids = sorted(states)
    for start in range(0, len(ids), CHUNK):
        CustomerLapse.objects.filter(customer_id__in=ids[start : start + CHUNK]).delete()
    rows = [
        CustomerLapse(customer_id=pk, last_day=day)
        for pk, state in states.items()
        if state
        for day in lapse_days_of(state, lapse)
    ]
    CustomerLapse.objects.bulk_create(rows, batch_size=CHUNK)


def compute_states(customer_ids: Iterable[int]) -> dict[int, State]:
    """Each customer's days from the raw tables (customers with none are left out)."""
    ids = sorted(set(customer_ids))
    states: dict[int, State] = {}
    activity: dict[int, set[int]] = {}
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        rows = (
            Touchpoint.objects.filter(customer_id__in=chunk)
            .order_by()
            .values_list("customer_id", "occurred_at", "source", "direction", "type__kind")
        )
        for customer_id, at, source, direction, kind in rows:
            day = _local_day(at).toordinal()
            state = states.setdefault(customer_id, State())
            if not (source == Touchpoint.Source.SYSTEM and direction == Direction.OUTBOUND):
                activity.setdefault(customer_id, set()).add(day)
            if kind == TouchpointType.Kind.PURCHASE:
                state.purchases.append(day)
        ledger: dict[int, set[int]] = {}
        rows = (
            LedgerEntry.objects.filter(membership__customer_id__in=chunk)
            .order_by()
            .values_list("membership__customer_id", "created_at")
        )
        for customer_id, at in rows:
            ledger.setdefault(customer_id, set()).add(_local_day(at).toordinal())
        for customer_id, days in ledger.items():
            states.setdefault(customer_id, State()).ledger = sorted(days)
    for customer_id, state in states.items():
        state.activity = sorted(activity.get(customer_id, ()))
        state.purchases.sort()
    return {k: v for k, v in states.items() if v}


def _load_states(customer_ids: Iterable[int]) -> dict[int, State]:
    ids = sorted(set(customer_ids))
    states = {}
    for start in range(0, len(ids), CHUNK):
        for row in CustomerRollupState.objects.filter(customer_id__in=ids[start : start + CHUNK]):
            states[row.customer_id] = State(row.activity_days, row.purchase_days, row.ledger_days)
    return states


def _apply(delta: Counter) -> None:
    """Add ``delta`` to the edge and cohort counts; rows that reach zero are deleted."""
    edges = [(k[1], k[2], k[3], k[4], n) for k, n in delta.items() if k[0] == "e" and n]
    cells = [(k[1], k[2], n) for k, n in delta.items() if k[0] == "c" and n]
    edge_table, cell_table = RollupEdge._meta.db_table, CohortCell._meta.db_table
    with connection.cursor() as cursor:
        for start in range(0, len(edges), CHUNK):
            rows = edges[start : start + CHUNK]
            values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(rows))
            params = [v for row in rows for v in row]
            cursor.execute(
                f"INSERT INTO {edge_table} (kind, from_day, to_day, from_is_first, n) VALUES {values} "  # noqa: S608
                f"ON CONFLICT (kind, from_day, to_day, from_is_first) DO UPDATE SET n = {edge_table}.n + excluded.n",
                params,
            )
            keys = ", ".join(["(%s, %s, %s, %s)"] * len(rows))
            cursor.execute(
                f"DELETE FROM {edge_table} WHERE n = 0 AND (kind, from_day, to_day, from_is_first) IN "  # noqa: S608
                f"(VALUES {keys})",
                [v for row in rows for v in row[:4]],
            )
        for start in range(0, len(cells), CHUNK):
            rows = cells[start : start + CHUNK]
            values = ", ".join(["(%s, %s, %s)"] * len(rows))
            cursor.execute(
                f"INSERT INTO {cell_table} (cohort_month, month_offset, customers) VALUES {values} "  # noqa: S608
                "ON CONFLICT (cohort_month, month_offset) DO UPDATE SET "
                f"customers = {cell_table}.customers + excluded.customers",
                [v for row in rows for v in row],
            )
            keys = ", ".join(["(%s, %s)"] * len(rows))
            cursor.execute(
                f"DELETE FROM {cell_table} WHERE customers = 0 AND (cohort_month, month_offset) IN "  # noqa: S608
                f"(VALUES {keys})",
                [v for row in rows for v in row[:2]],
            )


def _store_states(old: dict[int, State], new: dict[int, State]) -> None:
    gone = [pk for pk in old if pk not in new]
    for start in range(0, len(gone), CHUNK):
        CustomerRollupState.objects.filter(customer_id__in=gone[start : start + CHUNK]).delete()
    rows = [
        CustomerRollupState(customer_id=pk, activity_days=s.activity, purchase_days=s.purchases, ledger_days=s.ledger)
        for pk, s in new.items()
        if old.get(pk) != s
    ]
    CustomerRollupState.objects.bulk_create(
        rows,
        batch_size=CHUNK,
        update_conflicts=True,
        unique_fields=["customer_id"],
        update_fields=["activity_days", "purchase_days", "ledger_days"],
    )


def _changed(before: list[int], after: list[int]) -> set[int]:
    """Days whose count differs between two lists of days."""
    a, b = Counter(before), Counter(after)
    return {d for d in a.keys() | b.keys() if a[d] != b[d]}


def refresh_customers(customer_ids: Iterable[int], *, lapse: int) -> tuple[set[dt.date], set[dt.date]]:
    """Recompute these customers' contributions and apply the difference; returns the touchpoint and ledger days
    whose multiset changed (a deleted customer's days, for instance), for the daily rows to recompute."""
    ids = set(customer_ids)
    old, new = _load_states(ids), compute_states(ids)
    delta: Counter = Counter()
    tp_days: set[int] = set()
    ledger_days: set[int] = set()
    lapses: dict[int, State | None] = {}
    for pk in ids:
        before, after = old.get(pk, State()), new.get(pk, State())
        if before == after:
            continue
        if before.activity != after.activity:
            lapses[pk] = after
        delta.update(contributions(after, lapse))
        delta.subtract(contributions(before, lapse))
        tp_days |= _changed(before.activity, after.activity) | _changed(before.purchases, after.purchases)
        ledger_days |= _changed(before.ledger, after.ledger)
    _apply(delta)
    _store_states(old, new)
    _store_lapses(lapses, lapse)
    as_dates = lambda days: {dt.date.fromordinal(d) for d in days}  # noqa: E731
    return as_dates(tp_days), as_dates(ledger_days)


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
            TicketResponse(ticket_id=pk, day=_local_day(opened), seconds=(answered - opened).total_seconds())
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


# --- Rebuild ---------------------------------------------------------------------------------------


@dataclass
class RunResult:
    rebuilt: bool = False
    customers: int = 0
    days: int = 0
    timings: dict[str, float] = field(default_factory=dict)


def _lock() -> RollupWatermark:
    """The single watermark row, locked until the end of the transaction: two runs never interleave."""
    RollupWatermark.objects.get_or_create(pk=1)
    return RollupWatermark.objects.select_for_update().get(pk=1)


def rebuild() -> RunResult:
    """Truncate and recompute every rollup from the raw tables."""
    with transaction.atomic():
        watermark = _lock()
        return _rebuild(watermark)


def _rebuild(watermark: RollupWatermark) -> RunResult:
    result = RunResult(rebuilt=True)
    now = timezone.now()
    lapse = lapse_days()
    started = time.monotonic()
    # DELETE, not TRUNCATE: the dashboard keeps reading the old rows until the rebuild commits.
    models = (DailyRollup, RollupEdge, CohortCell, CustomerRollupState, CustomerLapse, RollupDirty, TicketResponse)
    with connection.cursor() as cursor:
        for model in models:
            cursor.execute(f"DELETE FROM {model._meta.db_table}")  # noqa: S608
    if connection.vendor != "postgresql":
        refresh_responses(None)
    result.timings["delete"] = time.monotonic() - started
    started = time.monotonic()
    _rebuild_days(now)
    if connection.vendor == "postgresql":
        _rebuild_responses_sql()
    result.timings["days"] = time.monotonic() - started
    started = time.monotonic()
    if connection.vendor == "postgresql":
        result.customers = _rebuild_customers_sql(lapse)
    else:
        ids = set(Touchpoint.objects.values_list("customer_id", flat=True).distinct())
        ids |= set(Membership.objects.filter(entries__isnull=False).values_list("customer_id", flat=True).distinct())
        states = compute_states(ids)
        total: Counter = Counter()
        for state in states.values():
            total.update(contributions(state, lapse))
        _apply(total)
        _store_states({}, states)
        _store_lapses(dict(states), lapse)
        result.customers = len(states)
    result.timings["customers"] = time.monotonic() - started
    watermark.refreshed_at = watermark.rebuilt_at = now
    watermark.lapse_days = lapse
    watermark.tiers = tier_distribution()
    watermark.open_tickets = Ticket.objects.filter(status__in=ACTIVE_STATUSES).count()
    watermark.save()
    result.days = DailyRollup.objects.count()
    logger.info("rollups rebuilt customers=%s days=%s timings=%s", result.customers, result.days, result.timings)
    return result


def _rebuild_customers_sql(lapse: int) -> int:
    """Edges, lapses, cohorts and states of every customer, set-based (PostgreSQL)."""
    tz = timezone.get_current_timezone_name()
    tp, types = Touchpoint._meta.db_table, TouchpointType._meta.db_table
    ledger, members = LedgerEntry._meta.db_table, Membership._meta.db_table
    edge, cell, state = RollupEdge._meta.db_table, CohortCell._meta.db_table, CustomerRollupState._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS rb_act, rb_pur, rb_led")
        cursor.execute(
            f"CREATE TEMP TABLE rb_act ON COMMIT DROP AS SELECT DISTINCT t.customer_id AS c, "  # noqa: S608
            f"(t.occurred_at AT TIME ZONE %s)::date AS d FROM {tp} t WHERE {ACTIVITY_SQL}",
            [tz],
        )
        cursor.execute(
            f"CREATE TEMP TABLE rb_pur ON COMMIT DROP AS SELECT t.customer_id AS c, "  # noqa: S608
            f"(t.occurred_at AT TIME ZONE %s)::date AS d FROM {tp} t JOIN {types} y ON y.id = t.type_id "
            "WHERE y.kind = %s",
            [tz, TouchpointType.Kind.PURCHASE],
        )
        cursor.execute(
            f"CREATE TEMP TABLE rb_led ON COMMIT DROP AS SELECT DISTINCT m.customer_id AS c, "  # noqa: S608
            f"(e.created_at AT TIME ZONE %s)::date AS d FROM {ledger} e JOIN {members} m ON m.id = e.membership_id",
            [tz],
        )
        for table, kind in (("rb_act", ACTIVITY), ("rb_pur", PURCHASE), ("rb_led", LEDGER)):
            cursor.execute(
                f"INSERT INTO {edge} (kind, from_day, to_day, from_is_first, n) "  # noqa: S608
                "SELECT %s, f, t, first, count(*) FROM ("
                "SELECT COALESCE(lag(d) OVER w, %s::date) AS f, d AS t, (row_number() OVER w) = 2 AS first "
                f"FROM {table} WINDOW w AS (PARTITION BY c ORDER BY d) "
                f"UNION ALL SELECT max(d), %s::date, count(*) = 1 FROM {table} GROUP BY c"
                ") e GROUP BY f, t, first",
                [kind, BEFORE, AFTER],
            )
        cursor.execute(
            f"INSERT INTO {edge} (kind, from_day, to_day, from_is_first, n) "  # noqa: S608
            "SELECT %s, f, CASE WHEN t IS NULL THEN %s::date ELSE f + %s END AS lapsed, false, count(*) FROM ("
            "SELECT d AS f, lead(d) OVER (PARTITION BY c ORDER BY d) AS t FROM rb_act) e "
            "WHERE t IS NULL OR t - f > %s GROUP BY f, lapsed",
            [LAPSE, AFTER, lapse, lapse],
        )
        cursor.execute(
            f"INSERT INTO {CustomerLapse._meta.db_table} (customer_id, last_day) "  # noqa: S608
            "SELECT c, d FROM (SELECT c, d, lead(d) OVER (PARTITION BY c ORDER BY d) AS t FROM rb_act) e "
            "WHERE t IS NULL OR t - d > %s",
            [lapse],
        )
        cursor.execute(
            f"INSERT INTO {edge} (kind, from_day, to_day, from_is_first, n) "  # noqa: S608
            "SELECT kind || %s, CASE WHEN from_day = %s::date THEN from_day ELSE greatest(from_day, to_day - %s) END, "
            f"to_day, from_is_first, sum(n) FROM {edge} WHERE kind IN (%s, %s, %s) AND to_day <> %s::date "
            "GROUP BY 1, 2, 3, 4",
            [SHORT_SUFFIX, BEFORE, SHORT + 1, ACTIVITY, PURCHASE, LEDGER, AFTER],
        )
        cursor.execute(
            f"INSERT INTO {edge} (kind, from_day, to_day, from_is_first, n) "  # noqa: S608
            "SELECT kind, %s::date, day, false, sum(n) FROM ("
            f"SELECT %s AS kind, from_day + 1 AS day, n FROM {edge} WHERE kind = %s AND from_day <> %s::date "
            f"UNION ALL SELECT %s, least(to_day, from_day + %s) + 1, n FROM {edge} "
            "WHERE kind = %s AND from_day <> %s::date"
            ") x GROUP BY kind, day",
            [BEFORE, LIVE_IN, ACTIVITY, BEFORE, LIVE_OUT, lapse, ACTIVITY, BEFORE],
        )
        running = [(*YEAR_KINDS[kind], kind, "") for kind in (ACTIVITY, PURCHASE, LEDGER)]
        running.append((SINGLE_IN, SINGLE_OUT, PURCHASE, " AND from_is_first"))
        for plus, minus, kind, extra in running:
            cursor.execute(
                f"INSERT INTO {edge} (kind, from_day, to_day, from_is_first, n) "  # noqa: S608
                "SELECT kind, %s::date, day, false, sum(n) FROM ("
                f"SELECT %s AS kind, from_day AS day, n FROM {edge} "
                f"WHERE kind = %s AND from_day <> %s::date AND to_day > from_day{extra} "
                f"UNION ALL SELECT %s, least(to_day, from_day + %s), n FROM {edge} "
                f"WHERE kind = %s AND from_day <> %s::date AND to_day > from_day{extra}"
                ") x GROUP BY kind, day",
                [BEFORE, plus, kind, BEFORE, minus, YEAR, kind, BEFORE],
            )
        cursor.execute(
            f"INSERT INTO {cell} (cohort_month, month_offset, customers) "  # noqa: S608
            "SELECT first_m, ((extract(year FROM m) * 12 + extract(month FROM m)) "
            "- (extract(year FROM first_m) * 12 + extract(month FROM first_m)))::int, count(*) FROM ("
            "SELECT DISTINCT c, date_trunc('month', d)::date AS m, "
            "min(date_trunc('month', d)::date) OVER (PARTITION BY c) AS first_m FROM rb_pur) x GROUP BY 1, 2",
        )
        cursor.execute(
            f"INSERT INTO {state} (customer_id, activity_days, purchase_days, ledger_days) "  # noqa: S608
            "SELECT c, COALESCE(a.days, '[]'), COALESCE(p.days, '[]'), COALESCE(l.days, '[]') FROM "
            "(SELECT c, jsonb_agg(d - %s::date + 1 ORDER BY d) AS days FROM rb_act GROUP BY c) a "
            "FULL JOIN (SELECT c, jsonb_agg(d - %s::date + 1 ORDER BY d) AS days FROM rb_pur GROUP BY c) p USING (c) "
            "FULL JOIN (SELECT c, jsonb_agg(d - %s::date + 1 ORDER BY d) AS days FROM rb_led GROUP BY c) l USING (c)",
            [BEFORE, BEFORE, BEFORE],
        )
        count = cursor.rowcount
        cursor.execute("DROP TABLE IF EXISTS rb_act, rb_pur, rb_led")
        cursor.execute(f"ANALYZE {edge}")  # noqa: S608
    return count


def vacuum() -> None:
    """After a rebuild, outside its transaction: PostgreSQL's visibility map, for index-only scans."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return
    with connection.cursor() as cursor:
        for model in (DailyRollup, RollupEdge, CohortCell, TicketResponse):
            cursor.execute(f"VACUUM ANALYZE {model._meta.db_table}")  # noqa: S608


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
        tp_days.add(_local_day(at))
    ledger_days: set[dt.date] = set()
    for customer_id, at in (
        LedgerEntry.objects.filter(created_at__gte=since)
        .order_by()
        .values_list("membership__customer_id", "created_at")
    ):
        customers.add(customer_id)
        ledger_days.add(_local_day(at))
    result.timings["find"] = time.monotonic() - started

    started = time.monotonic()
    changed_tp_days, changed_ledger_days = refresh_customers(customers, lapse=lapse)
    result.customers = len(customers)
    result.timings["customers"] = time.monotonic() - started

    started = time.monotonic()
    days = {
        "customers": {
            _local_day(at) for at in Customer.objects.filter(created_at__gte=since).values_list("created_at", flat=True)
        },
        "touchpoints": tp_days | changed_tp_days,
        "surveys": {
            _local_day(at)
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
            _local_day(at)
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
    day = _local_day(first)
    return {day + dt.timedelta(days=i) for i in range((today - day).days + 1)}


def tier_distribution() -> list[list]:
    """[tier name, memberships] of the memberships not closed, now (kept on the watermark row at each run)."""
    rows = (
        Membership.objects.exclude(status=Membership.Status.CLOSED)
        .values("tier__name", "tier__position")
        .annotate(n=Count("pk"))
        .order_by("tier__position", "tier__name")
    )
    return [[r["tier__name"] or "", r["n"]] for r in rows]


# --- Dirty marks (crm/insights/receivers.py) ----------------------------------------------------------------


def mark_dirty(*, customer_ids: Iterable[int] = (), days: Iterable[dt.date] = ()) -> None:
    rows = [RollupDirty(customer_id=pk) for pk in set(customer_ids)]
    rows += [RollupDirty(day=day) for day in set(days)]
    RollupDirty.objects.bulk_create(rows)
