"""The journey funnel for a date range, computed from stage transitions (never by scanning touchpoints).

Definitions (a customer's stages only go forward automatically, and may skip: a first purchase takes a
newcomer straight to decision, "passing" awareness and consideration on the way):

- **reached** a stage S in the period: the customer has a transition in the period that crosses S, i.e.
  ``rank(from_stage) < rank(S) <= rank(to_stage)``. Per customer this is ``lo < S <= hi`` with ``lo`` the
  lowest from-rank and ``hi`` the highest to-rank of their transitions in the period.
- **conversion** S → next: of the customers who reached S in the period, the share who also reached the
  next stage in the period (``lo < S`` and ``hi >= S + 1``), so it never exceeds 100 %.
- **median days in stage** S: over the stays in S that began in the period and have ended
  (``ended_at - at`` of the transitions into S).
- split **by acquisition source** (the customer's ``source``) and **by channel** (the channel of the
  touchpoints that moved them; manual moves have none); each split uses the same definitions within
  its group.

Five queries for the page, each bounded by the period on ``transition_funnel_idx``.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Aggregate, Case, CharField, F, FloatField, IntegerField, Max, Min, QuerySet, Value, When
from django.utils.translation import gettext

from customers.models import Customer

from .models import STAGE_ORDER, Channel, Stage, StageTransition

N = len(STAGE_ORDER)
SECONDS_PER_DAY = 86_400


def _rank(field_name: str) -> Case:
    return Case(
        *[When(**{field_name: stage}, then=Value(rank)) for rank, stage in enumerate(STAGE_ORDER)],
        default=Value(-1),
        output_field=IntegerField(),
    )


class _MedianSeconds(Aggregate):
    """PostgreSQL's median of an interval, in seconds."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM (%(expressions)s)))"
    output_field = FloatField()


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


def _reached(transitions: QuerySet, group_expr) -> dict[str, tuple[list[int], list[int]]]:
    """Per group: (reached per stage, converted per stage), from one GROUP BY over a per-customer subquery."""
    inner = (
        transitions.order_by()
        .annotate(g=group_expr)
        .values("customer_id", "g")
        .annotate(lo=Min(_rank("from_stage")), hi=Max(_rank("to_stage")))
    )
    inner_sql, params = inner.query.sql_with_params()
    reached_cols = [f"SUM(CASE WHEN lo < {s} AND hi >= {s} THEN 1 ELSE 0 END)" for s in range(N)]
    converted_cols = [f"SUM(CASE WHEN lo < {s} AND hi >= {s + 1} THEN 1 ELSE 0 END)" for s in range(N - 1)]
    sql = f"SELECT g, {', '.join(reached_cols + converted_cols)} FROM ({inner_sql}) AS per_customer GROUP BY g"  # noqa: S608 - only our own column expressions are interpolated
    result: dict[str, tuple[list[int], list[int]]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for row in cursor.fetchall():
            key = row[0] or ""
            numbers = [int(v or 0) for v in row[1:]]
            result[key] = (numbers[:N], [*numbers[N:], 0])
    return result


def _medians(transitions: QuerySet, group_expr) -> dict[tuple[str, str], float]:
    """Median days in stage per (group, stage), for the stays that began in the period and have ended."""
    ended = transitions.filter(ended_at__isnull=False).order_by().annotate(g=group_expr)
    if connection.vendor == "postgresql":
        rows = ended.values("g", "to_stage").annotate(seconds=_MedianSeconds(F("ended_at") - F("at")))
        return {(r["g"] or "", r["to_stage"]): r["seconds"] / SECONDS_PER_DAY for r in rows}
    # The embedded SQLite default has no PERCENTILE_CONT: compute it here (demo-sized data).
    durations: dict[tuple[str, str], list[float]] = defaultdict(list)
    for g, to_stage, at, ended_at in ended.values_list("g", "to_stage", "at", "ended_at"):
        durations[(g or "", to_stage)].append((ended_at - at).total_seconds())
    return {key: statistics.median(values) / SECONDS_PER_DAY for key, values in durations.items()}


def _fill(groups: dict[str, FunnelGroup], reached, medians) -> None:
    for key, (reached_counts, converted_counts) in reached.items():
        group = groups[key]
        for rank, stage in enumerate(group.stages):
            stage.reached += reached_counts[rank]
            stage.converted += converted_counts[rank]
    for (key, to_stage), days in medians.items():
        group = groups[key]
        group.stages[STAGE_ORDER.index(to_stage)].median_days = round(days, 1)


def funnel_report(*, start: dt.date, end: dt.date) -> Funnel:
    transitions = StageTransition.objects.between(start, end)

    sources = dict(Customer.Source.choices)
    by_source = {key: _new_group(key, label) for key, label in sources.items()}
    source_reached = _reached(transitions, F("customer__source"))
    for key in source_reached:
        by_source.setdefault(key, _new_group(key, key))
    source_medians = _medians(transitions, F("customer__source"))
    for key, _stage in source_medians:
        by_source.setdefault(key, _new_group(key, key))
    _fill(by_source, source_reached, source_medians)

    channels = {"": Channel.OTHER.label, **dict(Channel.choices)}
    by_channel = {key: _new_group(key, label) for key, label in Channel.choices}
    by_channel[""] = _new_group("", gettext("Moved by hand"))
    channel_reached = _reached(transitions, F("channel"))
    channel_medians = _medians(transitions, F("channel"))
    for key in list(channel_reached) + [k for k, _s in channel_medians]:
        by_channel.setdefault(key, _new_group(key, channels.get(key, key)))
    _fill(by_channel, channel_reached, channel_medians)

    # Each customer has exactly one source, so the overall counts are the sum of the source groups.
    overall = _new_group("all", gettext("All customers"))
    for group in by_source.values():
        for mine, theirs in zip(overall.stages, group.stages, strict=True):
            mine.reached += theirs.reached
            mine.converted += theirs.converted
    overall_medians = _medians(transitions, Value("all", output_field=CharField()))
    for (_key, to_stage), days in overall_medians.items():
        overall.stages[STAGE_ORDER.index(to_stage)].median_days = round(days, 1)

    return Funnel(
        start=start,
        end=end,
        overall=overall,
        by_source=[g for g in by_source.values() if not g.is_empty],
        by_channel=[g for g in by_channel.values() if not g.is_empty],
    )
