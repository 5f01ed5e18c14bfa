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
from django.db.models import Aggregate, Count, DurationField, ExpressionWrapper, F, Q, QuerySet, Sum
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


# The summable counts, defined once: the raw figures below, the rollup's days (feedback/rollups.py) and the
# rollup's partial days at the ends of a period all aggregate these.
def answer_counts() -> dict:
    """Of answered surveys (by ``answered_at``)."""
    csat, nps = Q(kind=Survey.Kind.CSAT), Q(kind=Survey.Kind.NPS)
    return {
        "csat_answers": Count("pk", filter=csat),
        "csat_satisfied": Count("pk", filter=csat & Q(score__gte=4)),
        "csat_score_sum": Sum("score", filter=csat, default=0),
        "nps_answers": Count("pk", filter=nps),
        "nps_promoters": Count("pk", filter=nps & Q(score__gte=9)),
        "nps_passives": Count("pk", filter=nps & Q(score__in=[7, 8])),
        "nps_detractors": Count("pk", filter=nps & Q(score__lte=6)),
        "unhappy_answers": Count("pk", filter=(nps & Q(score__lte=6)) | (csat & Q(score__lte=2))),
    }


def opened_counts() -> dict:
    """Of tickets (by ``created_at``): first responses due (answered, or overdue) and met."""
    has_target = Q(first_response_due_at__isnull=False)
    return {
        "first_responses_due": Count(
            "pk", filter=has_target & (Q(first_responded_at__isnull=False) | Q(first_response_breached=True))
        ),
        "first_responses_met": Count(
            "pk", filter=has_target & Q(first_responded_at__isnull=False, first_response_breached=False)
        ),
    }


def resolved_counts() -> dict:
    """Of tickets (by ``resolved_at``): resolutions due and met."""
    has_target = Q(resolution_due_at__isnull=False)
    return {
        "resolutions_due": Count("pk", filter=has_target),
        "resolutions_met": Count("pk", filter=has_target & Q(resolution_breached=False)),
    }


def loop_tickets() -> QuerySet[Ticket]:
    """Loops closed: follow-up tickets replied to (by their answer's ``answered_at``)."""
    return Ticket.objects.filter(source_survey__isnull=False, loop_closed_at__isnull=False)


LOOP_COUNTS = {"loops_closed": Count("pk")}
# What feedback.rollups keeps per day: every count above, summable over days.
COUNT_FIELDS = [
    *answer_counts(),
    *opened_counts(),
    *resolved_counts(),
    *LOOP_COUNTS,
]


def within(field_name: str, ranges: list[tuple[dt.datetime, dt.datetime]]) -> Q:
    """Rows whose ``field_name`` falls in one of the half-open ``ranges`` ([start, end))."""
    q = Q(pk__in=[])
    for start, end in ranges:
        q |= Q(**{f"{field_name}__gte": start, f"{field_name}__lt": end})
    return q


def set_counts(figures: Figures, counts: dict) -> None:
    """Fill the count fields of ``figures`` (``csat_mean`` from the score sum)."""
    for name in COUNT_FIELDS:
        if name != "csat_score_sum":
            setattr(figures, name, counts.get(name) or 0)
    answers, score_sum = counts.get("csat_answers") or 0, counts.get("csat_score_sum") or 0
    figures.csat_mean = round(score_sum / answers, 2) if answers else None


def open_by_age(now: dt.datetime) -> list[tuple[str, object, int]]:
    """Tickets not yet resolved or closed, by the time since they were opened (one query)."""
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
    return [(key, label, counts[key]) for key, label, _upper in AGE_BUCKETS]


def feedback_figures(*, start: dt.datetime, end: dt.datetime, now: dt.datetime | None = None) -> Figures:
    """Every figure of the period from the raw rows, in five aggregate queries (each one pass over the period's
    rows): the definition. The figures page reads the same figures from feedback.rollups (tested equal)."""
    now = now or timezone.now()
    figures = Figures(start=start, end=end)
    counts = Survey.objects.answered_between(start, end).aggregate(**answer_counts())

    opened = _aggregate_with_median(
        Ticket.objects.filter(created_at__gte=start, created_at__lt=end),
        start_field="created_at",
        end_field="first_responded_at",
        median_filter=Q(first_responded_at__isnull=False),
        **opened_counts(),
    )
    figures.median_first_response = opened.pop("median")
    resolved = _aggregate_with_median(
        Ticket.objects.filter(resolved_at__gte=start, resolved_at__lt=end),
        start_field="created_at",
        end_field="resolved_at",
        **resolved_counts(),
    )
    figures.median_resolution = resolved.pop("median")
    figures.open_by_age = open_by_age(now)
    loops = _aggregate_with_median(
        loop_tickets().filter(source_survey__answered_at__gte=start, source_survey__answered_at__lt=end),
        start_field="source_survey__answered_at",
        end_field="loop_closed_at",
        **LOOP_COUNTS,
    )
    figures.median_loop_close = loops.pop("median")
    set_counts(figures, {**counts, **opened, **resolved, **loops})
    return figures


def period(days: int, *, now: dt.datetime | None = None) -> tuple[dt.datetime, dt.datetime]:
    """The last ``days`` days up to now."""
    now = now or timezone.now()
    return now - dt.timedelta(days=days), now
