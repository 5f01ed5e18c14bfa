"""The funnel's grains (day, ten days, month, quarter), duration buckets and rollup keys, and what customers'
transitions contribute to the rollups (the definitions, counted in Python).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import groupby
from operator import itemgetter

from django.db import connection
from django.utils import timezone

from customers.pgarray import pg_array
from touchpoints.models import STAGE_ORDER, FunnelGrain, StageTransition, stage_rank

DAY, DEKAD, MONTH, QUARTER = (
    g.value for g in (FunnelGrain.DAY, FunnelGrain.DEKAD, FunnelGrain.MONTH, FunnelGrain.QUARTER)
)
N = len(STAGE_ORDER)
GRAINS = (DAY, DEKAD, MONTH, QUARTER)  # each nests in the next
DELTA_GRAINS = (DAY,)
NEVER = dt.date(9999, 12, 31)  # "has not crossed the next stage"
ONE = dt.timedelta(days=1)
HOUR_BUCKETS = 24  # one-hour buckets below a day ...
BUCKET_RATIO = 1.03  # ... then buckets 3 % wide
_LOG_RATIO = math.log(BUCKET_RATIO)
ReachKey = tuple[str, str, int, int, dt.date, int, dt.date]  # kind, key, stage, day_grain, day, next_grain, next
StayKey = tuple[str, str, int, int, dt.date, int]  # kind, key, stage, day_grain, day, bucket
REACH_KEY = ["kind", "key", "stage", "day_grain", "day", "next_grain", "next_day"]
STAY_KEY = ["kind", "key", "stage", "day_grain", "day", "bucket"]


def duration_bucket(hours: float) -> int:
    """The bucket of a stay of ``hours`` (the same arithmetic as the SQL of ``_rebuild_postgresql``)."""
    if hours < HOUR_BUCKETS:
        return math.floor(hours)
    return HOUR_BUCKETS + math.floor(math.log(hours / HOUR_BUCKETS) / _LOG_RATIO)


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def grain_start(day: dt.date, grain: int) -> dt.date:
    """The first day of the day, ten days (1st, 11th, 21st), month or quarter that ``day`` is in."""
    if grain == QUARTER:
        return day.replace(month=day.month - (day.month - 1) % 3, day=1)
    if grain == MONTH:
        return day.replace(day=1)
    if grain == DEKAD:
        return day.replace(day=1 if day.day < 11 else 11 if day.day < 21 else 21)
    return day


def grain_next(start: dt.date, grain: int) -> dt.date:
    """The first day after the unit of ``grain`` that begins on ``start``."""
    if grain == DAY:
        return start + dt.timedelta(days=1)
    if grain == DEKAD and start.day < 21:
        return start + dt.timedelta(days=10)
    if grain == QUARTER:
        return start.replace(year=start.year + 1, month=1) if start.month > 9 else start.replace(month=start.month + 3)
    return (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


@dataclass
class Contributions:
    reach: dict[ReachKey, int] = field(default_factory=lambda: defaultdict(int))
    stays: dict[StayKey, int] = field(default_factory=lambda: defaultdict(int))
    hours: dict[StayKey, float] = field(default_factory=lambda: defaultdict(float))


# customer_id, source, from_stage, to_stage, channel, at, ended_at, id
_COLUMNS = ("customer_id", "customer__source", "from_stage", "to_stage", "channel", "at", "ended_at", "id")


def transitions_of(customer_ids: Iterable[int], sources: dict[int, str] | None = None) -> list[tuple]:
    """The customers' transitions as ``_COLUMNS``; given their ``sources``, without joining the customers."""
    ids = sorted(set(customer_ids))
    if not ids:
        return []
    qs = StageTransition.objects.filter(customer_id__in=ids).order_by("customer_id", "at", "id")
    if sources is None:
        return list(qs.values_list(*_COLUMNS))
    if connection.vendor == "postgresql":  # one array parameter, not a placeholder per customer
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT customer_id, from_stage, to_stage, channel, at, ended_at, id FROM touchpoints_stagetransition"
                " WHERE customer_id = ANY(%s::bigint[]) ORDER BY customer_id, at, id",
                [pg_array(ids)],
            )
            rows = cursor.fetchall()
    else:
        rows = qs.values_list(*(c for c in _COLUMNS if c != "customer__source"))
    return [(row[0], sources[row[0]], *row[1:]) for row in rows]


def contributions(rows: list[tuple], grains: tuple[int, ...] = GRAINS) -> Contributions:
    """What these customers' transitions (``_COLUMNS``, ordered by customer, at, id) add to the rollups, at
    ``grains`` (the deltas are written at day grain only: ``funnel_fold`` adds the others)."""
    out = Contributions()
    tz = timezone.get_current_timezone()  # once: looking it up costs more than converting a time
    for _customer_id, history in groupby(rows, key=itemgetter(0)):
        first: dict[int, tuple[dt.date, str]] = {}
        source = ""
        for _id, source, from_stage, to_stage, channel, at, ended_at, _pk in history:
            lo, hi = stage_rank(from_stage), stage_rank(to_stage)
            day = at.astimezone(tz).date()
            for stage in range(lo + 1, hi + 1):
                first.setdefault(stage, (day, channel))
            if ended_at is not None:
                hours = (ended_at - at).total_seconds() / 3600
                bucket = duration_bucket(hours)
                for kind, key in (("all", ""), ("source", source), ("channel", channel)):
                    for grain in grains:
                        k = (kind, key, hi, grain, grain_start(day, grain), bucket)
                        out.stays[k] += 1
                        out.hours[k] += hours
        for stage, (day, channel) in first.items():
            following = first.get(stage + 1)
            nxt = following[0] if following else NEVER
            for kind, key in (("source", source), ("channel", channel)):
                for grain in grains:
                    d = grain_start(day, grain)
                    out.reach[(kind, key, stage, grain, d, MONTH, nxt if nxt == NEVER else month_start(nxt))] += 1
                    if nxt != NEVER:
                        out.reach[(kind, key, stage, grain, d, DAY, nxt)] += 1
    return out
