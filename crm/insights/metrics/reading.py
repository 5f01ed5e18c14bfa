"""Reading the rollups: sums of days (DailyRollup) and distinct-customer counts as sums of edges (RollupEdge),
each a handful of index ranges read in one query; and the arithmetic the figures share."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection

from feedback.figures import percent

from .. import rollups
from ..models import DailyRollup, RollupEdge
from .period import Period

# --- Arithmetic ------------------------------------------------------------------------------------


def ratio(part, whole) -> float | None:
    return float(part) / float(whole) if whole else None


def _rate(part, whole) -> float | None:
    return percent(part, whole)


def _yen(amount) -> Decimal | None:
    return None if amount is None else Decimal(amount).quantize(Decimal("1"))


# --- Reading the rollups ---------------------------------------------------------------------------

DAY_FIELDS = [
    "new_customers",
    "touchpoints",
    "orders",
    "sales",
    "returns",
    "refunds",
    "revenue",
    "tickets_opened",
    "tickets_resolved",
    "first_responses_due",
    "first_responses_met",
    "resolutions_due",
    "resolutions_met",
    "csat_answers",
    "csat_satisfied",
    "csat_score_sum",
    "nps_answers",
    "nps_promoters",
    "nps_passives",
    "nps_detractors",
    "points_earned",
    "points_bonus",
    "points_redeemed",
    "points_expired",
    "points_adjusted",
    "members_joined",
    "members_closed",
]
POINTS_FIELDS = ["points_earned", "points_bonus", "points_redeemed", "points_expired", "points_adjusted"]


def _day_sums(ranges: dict[str, tuple[dt.date | None, dt.date]], fields: list[str]) -> dict[str, dict[str, object]]:
    """Sums of ``fields`` of DailyRollup over each named range of days (start None: from the beginning): one
    query, each range an index range of the daily rows."""
    table = DailyRollup._meta.db_table
    sums = ", ".join(f"COALESCE(SUM({f}), 0)" for f in fields)
    parts, params = [], []
    for i, (start, end) in enumerate(ranges.values()):
        parts.append(f"SELECT {i}, {sums} FROM {table} WHERE day BETWEEN %s AND %s")  # noqa: S608 - our names
        params += [start or rollups.BEFORE, end]
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        rows = {row[0]: row[1:] for row in cursor.fetchall()}
    return {name: dict(zip(fields, rows[i], strict=True)) for i, name in enumerate(ranges)}


@dataclass(frozen=True)
class EdgeRange:
    """RollupEdge rows of ``kind`` whose days fall in these bounds (inclusive)."""

    kind: str
    to_min: dt.date = rollups.BEFORE
    to_max: dt.date = rollups.AFTER
    from_min: dt.date = rollups.BEFORE
    from_max: dt.date = rollups.AFTER
    from_is_first: bool | None = None


def _edge_counts(requests: dict[str, list[EdgeRange]]) -> dict[str, int]:
    """Σn of RollupEdge for each named list of ranges: one query, each range an index range of its own."""
    if not requests:
        return {}
    table = RollupEdge._meta.db_table
    columns, params = [], []
    for ranges in requests.values():
        terms = []
        for r in ranges:
            first = "" if r.from_is_first is None else f" AND {'' if r.from_is_first else 'NOT '}from_is_first"
            terms.append(
                f"(SELECT COALESCE(SUM(n), 0) FROM {table} WHERE kind = %s AND to_day BETWEEN %s AND %s "  # noqa: S608
                f"AND from_day BETWEEN %s AND %s{first})"
            )
            params += [r.kind, r.to_min, r.to_max, r.from_min, r.from_max]
        columns.append(" + ".join(terms))
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(columns), params)
        row = cursor.fetchone()
    return {name: int(value) for name, value in zip(requests, row, strict=True)}


def _kind(kind: str, start: dt.date, end: dt.date) -> str:
    """The short edges answer for ranges of up to rollups.SHORT days, reading far fewer rows."""
    return kind + rollups.SHORT_SUFFIX if (end - start).days + 1 <= rollups.SHORT else kind


DAY = dt.timedelta(days=1)


def _active_q(kind: str, start: dt.date, end: dt.date) -> list[EdgeRange]:
    """Customers with a day of ``kind`` in [start, end]: the one edge by which each enters the range."""
    return [EdgeRange(_kind(kind, start, end), to_min=start, to_max=end, from_max=start - DAY)]


def _repeat_q(start: dt.date, end: dt.date) -> list[EdgeRange]:
    """Purchasers who bought before the range, and those whose first two purchases are both in it."""
    kind = _kind(rollups.PURCHASE, start, end)
    return [
        EdgeRange(kind, to_min=start, to_max=end, from_min=rollups.BEFORE + DAY, from_max=start - DAY),
        EdgeRange(kind, to_min=start, to_max=end, from_min=start, from_is_first=True),
    ]


def _running_q(kind: str, day: dt.date) -> list[EdgeRange]:
    """A running count's rows up to ``day`` (rollups.LIVE_IN…): the "+" rows minus the "-" rows."""
    return [EdgeRange(kind, to_max=day)]


def _churned_q(period: Period, lapse_days: int, today: dt.date) -> list[EdgeRange] | None:
    """Lapse rows of customers live at the period's start whose lapse day falls in the period (and has come)."""
    first = period.start - dt.timedelta(days=lapse_days)
    last = min(period.start - dt.timedelta(days=1), period.end - dt.timedelta(days=lapse_days))
    last = min(last, today - dt.timedelta(days=lapse_days))
    if last < first:
        return None
    return [EdgeRange(rollups.LAPSE, from_min=first, from_max=last)]


def _customer_requests(prefix: str, period: Period, lapse_days: int, today: dt.date) -> dict[str, list[EdgeRange]]:
    """The edge sums behind a period's distinct-customer figures. Keys ending in "+" and "-" are running counts,
    subtracted by ``_resolve``: a 365-day period reads them (one row per day) rather than the full edges."""
    requests = {
        f"{prefix}live+": _running_q(rollups.LIVE_IN, period.start),
        f"{prefix}live-": _running_q(rollups.LIVE_OUT, period.start),
    }
    if period.days == rollups.YEAR:
        for name, kind in (("active", rollups.ACTIVITY), ("purchasers", rollups.PURCHASE), ("ledger", rollups.LEDGER)):
            plus, minus = rollups.YEAR_KINDS[kind]
            requests[f"{prefix}{name}+"] = _running_q(plus, period.end)
            requests[f"{prefix}{name}-"] = _running_q(minus, period.end)
        requests[f"{prefix}single+"] = _running_q(rollups.SINGLE_IN, period.end)
        requests[f"{prefix}single-"] = _running_q(rollups.SINGLE_OUT, period.end)
    else:
        requests[f"{prefix}active"] = _active_q(rollups.ACTIVITY, period.start, period.end)
        requests[f"{prefix}purchasers"] = _active_q(rollups.PURCHASE, period.start, period.end)
        requests[f"{prefix}repeat"] = _repeat_q(period.start, period.end)
        requests[f"{prefix}ledger"] = _active_q(rollups.LEDGER, period.start, period.end)
    churned = _churned_q(period, lapse_days, today)
    if churned is not None:
        requests[f"{prefix}churned"] = churned
    return requests


def _resolve(edges: dict[str, int]) -> dict[str, int]:
    """Running counts ("+" minus "-"), and repeat purchasers = purchasers - single purchasers."""
    resolved = {k: v for k, v in edges.items() if not k.endswith(("+", "-"))}
    for key, value in edges.items():
        if key.endswith("+"):
            resolved[key[:-1]] = value - edges[key[:-1] + "-"]
    for key in [k for k in resolved if k.endswith("single")]:
        prefix = key[: -len("single")]
        resolved[f"{prefix}repeat"] = resolved[f"{prefix}purchasers"] - resolved.pop(key)
    return resolved
