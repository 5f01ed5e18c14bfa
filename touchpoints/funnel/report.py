"""The funnel for a date range, read from the rollups: reached, converted and median days in stage, by split."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from itertools import groupby
from operator import itemgetter

from django.db import connection
from django.utils.translation import gettext

from customers.models import Customer
from touchpoints.funnel.grains import DAY, GRAINS, MONTH, ONE, N, grain_next, grain_start, month_start
from touchpoints.models import STAGE_ORDER, Channel, FunnelReach, FunnelStay, Stage


@dataclass
class FunnelStage:
    stage: str
    label: str
    reached: int = 0
    converted: int = 0  # reached this stage and the next
    median_days: float | None = None

    @property
    def conversion(self) -> float | None:
        """Share (0–1) of those who reached this stage who reached the next; None for the last stage."""
        if self.stage == STAGE_ORDER[-1] or not self.reached:
            return None
        return self.converted / self.reached

    @property
    def conversion_percent(self) -> float | None:
        value = self.conversion
        return None if value is None else round(value * 100, 1)


@dataclass
class FunnelGroup:
    key: str
    label: str
    stages: list[FunnelStage] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Customers who reached at least one stage in the period."""
        return max((s.reached for s in self.stages), default=0) if self.stages else 0

    @property
    def is_empty(self) -> bool:
        return not any(s.reached or s.median_days is not None for s in self.stages)


@dataclass
class Funnel:
    start: dt.date
    end: dt.date
    overall: FunnelGroup
    by_source: list[FunnelGroup]
    by_channel: list[FunnelGroup]

    def chart_data(self) -> dict:
        """What static/touchpoints/js/funnel.js draws (read through json_script, never inline)."""
        return {
            "labels": [str(s.label) for s in self.overall.stages],
            "reached": [s.reached for s in self.overall.stages],
            "conversion": [s.conversion_percent for s in self.overall.stages],
            "median_days": [s.median_days for s in self.overall.stages],
        }


def _new_group(key: str, label: str) -> FunnelGroup:
    labels = dict(Stage.choices)
    return FunnelGroup(key=key, label=label, stages=[FunnelStage(stage=s, label=labels[s]) for s in STAGE_ORDER])


def period_rows(start: dt.date, end: dt.date) -> tuple[list[tuple[int, dt.date, dt.date]], dt.date]:
    """The rollup rows of the days ``start``–``end``, as few as can be: whole months at month grain, whole
    ten-day spans at theirs, the days left at the edges at day grain: (grain, first row's day, last row's day).
    And the first day of the period's last, partial month (``end + 1`` when the period ends with a month)."""
    units: list[tuple[int, dt.date]] = []
    day = start
    while day <= end:
        grain = next(g for g in reversed(GRAINS) if grain_start(day, g) == day and grain_next(day, g) <= end + ONE)
        units.append((grain, day))
        day = grain_next(day, grain)
    branches: list[tuple[int, dt.date, dt.date]] = []
    for grain, group in groupby(units, key=itemgetter(0)):
        days = [d for _g, d in group]
        branches.append((grain, days[0], days[-1]))
    return branches, month_start(end + ONE)


def _union(model, columns: str, where: str, period: tuple[dt.date, dt.date], extra: list) -> tuple[str, list]:
    """``SELECT columns FROM table WHERE <rows of one grain> AND where UNION ALL …``: one index range scan per
    grain of ``period_rows``, and one of the pending deltas (day grain) of the whole period."""
    table, adapt = model._meta.db_table, connection.ops.adapt_datefield_value
    start, end = period
    branches, _last_month = period_rows(start, end)
    parts, params = [], []
    for grain, first, last in branches:
        parts.append(
            f"SELECT {columns} FROM {table} WHERE NOT pending AND day_grain = {int(grain)}"  # noqa: S608
            f" AND day >= %s AND day <= %s{where}"
        )
        params += [adapt(first), adapt(last), *extra]
    parts.append(f"SELECT {columns} FROM {table} WHERE pending AND day >= %s AND day <= %s{where}")  # noqa: S608
    params += [adapt(start), adapt(end), *extra]
    return " UNION ALL ".join(parts), params


def _medians(period: tuple[dt.date, dt.date]) -> dict[tuple[str, str, int], float]:
    """Median hours in stage per (kind, key, stage): PERCENTILE_CONT(0.5) over the stays, each bucket standing
    for the mean of its stays (the database sums the buckets of the period; a few thousand rows come back, CAST
    to integers and floats: numerics would come back as Decimals, slower to make and to sort). Picking the middle
    buckets by window sums in the database cost more than doing it here."""
    union, params = _union(FunnelStay, "kind, key, stage, bucket, n, hours", "", period, [])
    sql = f"""
        SELECT kind, key, stage, bucket, CAST(SUM(n) AS bigint), CAST(SUM(hours) AS double precision)
          FROM ({union}) AS u GROUP BY kind, key, stage, bucket HAVING SUM(n) > 0
    """  # noqa: S608 - our own table and column names only
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    rows.sort()
    medians = {}
    for group, histogram in groupby(rows, key=itemgetter(0, 1, 2)):
        buckets = [(n, hours) for _k, _key, _s, _b, n, hours in histogram]
        total = sum(n for n, _h in buckets)

        def value(rank: int, buckets=buckets) -> float:
            below = 0
            for n, hours in buckets:
                if rank < below + n:
                    return hours / n
                below += n
            raise AssertionError("rank beyond the stays")

        medians[group] = (value((total - 1) // 2) + value(total // 2)) / 2
    return medians


def funnel_report(*, start: dt.date, end: dt.date) -> Funnel:
    _branches, last_month = period_rows(start, end)
    counts: dict[tuple[str, str], tuple[list[int], list[int]]] = defaultdict(lambda: ([0] * N, [0] * N))
    adapt = connection.ops.adapt_datefield_value
    columns = "kind, key, stage, next_grain, next_day, n"
    reached_sql, reached_params = _union(FunnelReach, columns, f" AND next_grain = {MONTH}", (start, end), [])
    late, late_params = _union(
        FunnelReach,
        columns,
        f" AND next_grain = {DAY} AND next_day >= %s AND next_day <= %s",
        (start, end),
        [adapt(last_month), adapt(end)],
    )
    # Reached: the month-grain "next" rows (one per first crossing). Converted: those of them whose next stage
    # came in a month before the period's last, and the day-grain rows of that last month up to ``end``.
    sql = f"""
        SELECT kind, key, stage, SUM(CASE WHEN next_grain = {MONTH} THEN n ELSE 0 END),
               SUM(CASE WHEN next_grain = {DAY} OR next_day < %s THEN n ELSE 0 END)
          FROM ({reached_sql} UNION ALL {late}) AS u GROUP BY kind, key, stage
    """  # noqa: S608 - our own SQL
    params = [adapt(last_month), *reached_params, *late_params]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for kind, key, stage, reached, converted in cursor.fetchall():
            counts[(kind, key)][0][stage] += int(reached or 0)
            counts[(kind, key)][1][stage] += int(converted or 0)
    medians = _medians((start, end))

    sources = dict(Customer.Source.choices)
    channels = {"": gettext("Moved by hand"), **dict(Channel.choices)}
    groups = {
        "source": {key: _new_group(key, label) for key, label in sources.items()},
        "channel": {key: _new_group(key, label) for key, label in Channel.choices},
        "all": {"": _new_group("all", gettext("All customers"))},
    }
    groups["channel"][""] = _new_group("", channels[""])
    labels = {"source": sources, "channel": channels, "all": {}}
    for kind, key in {*counts, *((kind, key) for kind, key, _stage in medians)}:
        groups[kind].setdefault(key, _new_group(key, str(labels[kind].get(key, key))))
    for (kind, key), (reached, converted) in counts.items():
        for rank, stage in enumerate(groups[kind][key].stages):
            stage.reached += reached[rank]
            stage.converted += converted[rank] if rank < N - 1 else 0
    # Each customer has exactly one source, so the overall counts are the sum of the source groups.
    overall = groups["all"][""]
    for group in groups["source"].values():
        for mine, theirs in zip(overall.stages, group.stages, strict=True):
            mine.reached += theirs.reached
            mine.converted += theirs.converted
    for (kind, key, stage), hours in medians.items():
        if 0 <= stage < N:
            groups[kind][key].stages[stage].median_days = round(hours / 24, 1)

    return Funnel(
        start=start,
        end=end,
        overall=overall,
        by_source=[g for g in groups["source"].values() if not g.is_empty],
        by_channel=[g for g in groups["channel"].values() if not g.is_empty],
    )
