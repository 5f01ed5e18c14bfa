"""The feedback figures, defined once: CSAT, NPS, median first response and resolution times, SLA compliance,
open tickets by age, closing the loop. The figures page, the dashboard and the API read them from here.

Definitions (for answers and tickets of a period):
- CSAT: the share of CSAT answers scoring 4 or 5, in percent (and the mean score, 1–5).
- NPS: percent promoters (9–10) minus percent detractors (0–6), from -100 to 100.
- First response time: from opening to the first public reply, median, for tickets opened in the period.
- Resolution time: from opening to resolution, median, for tickets resolved in the period.
- SLA compliance: the share of first responses (tickets opened in the period that were answered or are
  overdue) and of resolutions (tickets resolved in the period) that met their deadline, in percent.
- Open tickets by age: tickets not yet resolved or closed, by the time since they were opened (now).
- Closing the loop: unhappy answers (NPS 0–6, CSAT 1–2), those replied to, and the median time from the
  answer to the reply.

On PostgreSQL the figures take five aggregate queries (medians by ``percentile_cont``); SQLite (the embedded
default) computes medians in Python, which is fine at demo sizes.
"""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Aggregate, Avg, Count, DurationField, ExpressionWrapper, F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import ACTIVE_STATUSES, Survey, Ticket

AGE_BUCKETS: list[tuple[str, object, dt.timedelta | None]] = [
    ("1d", _("Under a day"), dt.timedelta(days=1)),
    ("3d", _("1–3 days"), dt.timedelta(days=3)),
    ("7d", _("3–7 days"), dt.timedelta(days=7)),
    ("30d", _("1–4 weeks"), dt.timedelta(days=30)),
    ("older", _("Over 30 days"), None),
]


class Median(Aggregate):
    """PostgreSQL's ``percentile_cont(0.5)``: the median of numbers or intervals."""

    function = "PERCENTILE_CONT"
    name = "Median"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    allow_distinct = False


@dataclass
class Figures:
    start: dt.datetime
    end: dt.datetime
    csat_answers: int = 0
    csat_satisfied: int = 0
    csat_mean: float | None = None
    nps_answers: int = 0
    nps_promoters: int = 0
    nps_passives: int = 0
    nps_detractors: int = 0
    median_first_response: dt.timedelta | None = None
    median_resolution: dt.timedelta | None = None
    first_responses_due: int = 0
    first_responses_met: int = 0
    resolutions_due: int = 0
    resolutions_met: int = 0
    open_by_age: list[tuple[str, object, int]] = field(default_factory=list)
    unhappy_answers: int = 0
    loops_closed: int = 0
    median_loop_close: dt.timedelta | None = None

    @property
    def csat(self) -> float | None:
        return percent(self.csat_satisfied, self.csat_answers)

    @property
    def nps(self) -> float | None:
        return nps_score(self.nps_promoters, self.nps_detractors, self.nps_answers)

    @property
    def first_response_compliance(self) -> float | None:
        return percent(self.first_responses_met, self.first_responses_due)

    @property
    def resolution_compliance(self) -> float | None:
        return percent(self.resolutions_met, self.resolutions_due)

    @property
    def open_total(self) -> int:
        return sum(n for _key, _label, n in self.open_by_age)


def percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def nps_score(promoters: int, detractors: int, answers: int) -> float | None:
    """NPS = %promoters − %detractors (the same definition the figures use)."""
    return round(100 * (promoters - detractors) / answers, 1) if answers else None


def _span(start_field: str, end_field: str) -> ExpressionWrapper:
    return ExpressionWrapper(F(end_field) - F(start_field), output_field=DurationField())


def _aggregate_with_median(
    qs: QuerySet, *, start_field: str, end_field: str, median_filter: Q | None = None, **aggregates
) -> dict:
    """``qs.aggregate(**aggregates)`` plus ``median``, the median of ``end - start`` (rows matching
    ``median_filter``): one pass over the rows on PostgreSQL; in Python on SQLite."""
    if connection.vendor == "postgresql":
        median = Median(_span(start_field, end_field), filter=median_filter, output_field=DurationField())
        return qs.aggregate(median=median, **aggregates)
    result = qs.aggregate(**aggregates) if aggregates else {}
    rows = qs.filter(median_filter) if median_filter is not None else qs
    spans = [end - begin for begin, end in rows.values_list(start_field, end_field) if begin and end]
    result["median"] = statistics.median(spans) if spans else None
    return result


def feedback_figures(*, start: dt.datetime, end: dt.datetime, now: dt.datetime | None = None) -> Figures:
    """Every figure of the period in five aggregate queries (each one pass over the period's rows)."""
    now = now or timezone.now()
    figures = Figures(start=start, end=end)

    answers = Survey.objects.answered_between(start, end).aggregate(
        csat_answers=Count("pk", filter=Q(kind=Survey.Kind.CSAT)),
        csat_satisfied=Count("pk", filter=Q(kind=Survey.Kind.CSAT, score__gte=4)),
        csat_mean=Avg("score", filter=Q(kind=Survey.Kind.CSAT)),
        nps_answers=Count("pk", filter=Q(kind=Survey.Kind.NPS)),
        nps_promoters=Count("pk", filter=Q(kind=Survey.Kind.NPS, score__gte=9)),
        nps_passives=Count("pk", filter=Q(kind=Survey.Kind.NPS, score__in=[7, 8])),
        nps_detractors=Count("pk", filter=Q(kind=Survey.Kind.NPS, score__lte=6)),
        unhappy=Count("pk", filter=Q(kind=Survey.Kind.NPS, score__lte=6) | Q(kind=Survey.Kind.CSAT, score__lte=2)),
    )
    figures.csat_answers = answers["csat_answers"]
    figures.csat_satisfied = answers["csat_satisfied"]
    figures.csat_mean = round(answers["csat_mean"], 2) if answers["csat_mean"] is not None else None
    figures.nps_answers = answers["nps_answers"]
    figures.nps_promoters = answers["nps_promoters"]
    figures.nps_passives = answers["nps_passives"]
    figures.nps_detractors = answers["nps_detractors"]
    figures.unhappy_answers = answers["unhappy"]

    has_target = Q(first_response_due_at__isnull=False)
    opened = _aggregate_with_median(
        Ticket.objects.filter(created_at__gte=start, created_at__lt=end),
        start_field="created_at",
        end_field="first_responded_at",
        median_filter=Q(first_responded_at__isnull=False),
        due=Count("pk", filter=has_target & (Q(first_responded_at__isnull=False) | Q(first_response_breached=True))),
        met=Count("pk", filter=has_target & Q(first_responded_at__isnull=False, first_response_breached=False)),
    )
    figures.median_first_response = opened["median"]
    figures.first_responses_due, figures.first_responses_met = opened["due"], opened["met"]
    has_target = Q(resolution_due_at__isnull=False)
    resolved = _aggregate_with_median(
        Ticket.objects.filter(resolved_at__gte=start, resolved_at__lt=end),
        start_field="created_at",
        end_field="resolved_at",
        due=Count("pk", filter=has_target),
        met=Count("pk", filter=has_target & Q(resolution_breached=False)),
    )
    figures.median_resolution = resolved["median"]
    figures.resolutions_due, figures.resolutions_met = resolved["due"], resolved["met"]

    buckets: dict[str, Q] = {}
    lower = None
    for key, _label, upper in AGE_BUCKETS:
        condition = Q()
        if upper is not None:
            condition &= Q(created_at__gt=now - upper)
        if lower is not None:
            condition &= Q(created_at__lte=now - lower)
        buckets[key] = condition
        lower = upper
    counts = Ticket.objects.filter(status__in=ACTIVE_STATUSES).aggregate(
        **{key: Count("pk", filter=condition) for key, condition in buckets.items()}
    )
    figures.open_by_age = [(key, label, counts[key]) for key, label, _upper in AGE_BUCKETS]

    loops = _aggregate_with_median(
        Ticket.objects.filter(
            source_survey__answered_at__gte=start, source_survey__answered_at__lt=end, loop_closed_at__isnull=False
        ),
        start_field="source_survey__answered_at",
        end_field="loop_closed_at",
        closed=Count("pk"),
    )
    figures.loops_closed = loops["closed"]
    figures.median_loop_close = loops["median"]
    return figures


def period(days: int, *, now: dt.datetime | None = None) -> tuple[dt.datetime, dt.datetime]:
    """The last ``days`` days up to now."""
    now = now or timezone.now()
    return now - dt.timedelta(days=days), now
