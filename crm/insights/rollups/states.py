"""Per-customer state and its contributions: what each customer adds to the edges, cohorts and lapses, diffed
against what they added at the last refresh (``CustomerRollupState``)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import connection

from customers.localtime import local_date
from loyalty.models import LedgerEntry
from touchpoints.models import Direction, Touchpoint, TouchpointType

from ..models import (
    CohortCell,
    CustomerLapse,
    CustomerRollupState,
    RollupEdge,
)
from .definitions import (
    ACTIVITY,
    AFTER,
    BEFORE,
    CHUNK,
    LAPSE,
    LEDGER,
    LIVE_IN,
    LIVE_OUT,
    PURCHASE,
    SHORT,
    SHORT_SUFFIX,
    SINGLE_IN,
    SINGLE_OUT,
    YEAR,
    YEAR_KINDS,
)

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
            day = local_date(at).toordinal()
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
            ledger.setdefault(customer_id, set()).add(local_date(at).toordinal())
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
