"""The feedback figures' rollup: the figures page reads its counts by day and its medians from a narrow table of
ticket times instead of aggregating the raw tickets and answers of the period (the pattern of
crm/insights/rollups, which feedback, below crm, cannot use).

- ``FiguresDay``: per business day, the counts of feedback/figures.py (``COUNT_FIELDS``), recomputed from the raw
  rows for the days asked (delete + insert: running twice changes nothing).
- ``FiguresSpan``: per ticket, its first response, resolution and closed-loop times, keyed by the instant the
  figures select them by, so medians over any period are exact.
- ``FiguresWatermark``: when the last run started; locked during a run, so two runs never interleave.

``refresh()`` (the periodic task, every TSUNAGU_ROLLUP_SECONDS) recomputes only the days touched since the
watermark, less a safety margin for transactions that commit late: answers by ``answered_at`` or ``created_at``;
tickets by ``updated_at`` or a deadline just passed (the SLA job flags breaches without touching ``updated_at``),
from the earlier of the ticket's opening day and its answer's day to today (reopening clears a resolution day, so
every day since opening is recomputed). Not seen: a ticket or answer deleted on its own (the nightly
``rebuild()``, ``manage.py feedback_rollups_rebuild``, puts any such drift right).

``figures_from_rollups()`` reads the whole business days of a period from the rollup and its partial days at
either end (a period is "the last N days up to now") from the raw rows, through the same definitions; so the
figures equal ``feedback_figures`` on the same rows (tests/feedback/test_rollups.py), and answers of today are
counted as soon as they are given. Changes to earlier days show after the next refresh.
"""

from __future__ import annotations

import datetime as dt
import logging
import statistics
from collections.abc import Iterable

from django.db import connection, transaction
from django.db.models import CharField, DurationField, ExpressionWrapper, F, Min, Q, Sum, Value
from django.db.models.functions import TruncDate
from django.utils import timezone

from customers.localtime import local_date, local_day_start

from .figures import (
    COUNT_FIELDS,
    LOOP_COUNTS,
    Figures,
    answer_counts,
    loop_tickets,
    open_by_age,
    opened_counts,
    resolved_counts,
    set_counts,
    within,
)
from .models import FiguresDay, FiguresSpan, FiguresWatermark, Survey, Ticket

logger = logging.getLogger(__name__)

SAFETY_MARGIN = dt.timedelta(minutes=10)
CHUNK = 2000
Span = FiguresSpan.Kind
# kind -> (the tickets it applies to, the instant that selects it for a period, the span's start and end): the
# medians of feedback_figures.
SPANS = {
    Span.FIRST_RESPONSE: (Q(first_responded_at__isnull=False), "created_at", "created_at", "first_responded_at"),
    Span.RESOLUTION: (Q(resolved_at__isnull=False), "resolved_at", "created_at", "resolved_at"),
    Span.LOOP: (
        Q(source_survey__isnull=False, loop_closed_at__isnull=False),
        "source_survey__answered_at",
        "source_survey__answered_at",
        "loop_closed_at",
    ),
}


def _ranges(days: Iterable[dt.date]) -> list[tuple[dt.datetime, dt.datetime]]:
    """Contiguous runs of days, as [start, end) instants in the business time zone."""
    runs: list[list[dt.date]] = []
    for day in sorted(set(days)):
        if runs and runs[-1][1] + dt.timedelta(days=1) == day:
            runs[-1][1] = day
        else:
            runs.append([day, day])
    return [(local_day_start(first), local_day_start(last + dt.timedelta(days=1))) for first, last in runs]


def _counts_by_day(days: set[dt.date] | None) -> dict[dt.date, dict]:
    """The counts of each day of ``days`` that has any (None: every day)."""

    def by_day(qs, field_name: str, aggregates: dict) -> None:
        if days is not None:
            qs = qs.filter(within(field_name, _ranges(days)))
        else:
            qs = qs.filter(**{f"{field_name}__isnull": False})
        rows = qs.order_by().annotate(_day=TruncDate(field_name)).values("_day").annotate(**aggregates)
        for row in rows:
            found.setdefault(row.pop("_day"), {}).update(row)

    found: dict[dt.date, dict] = {}
    by_day(Survey.objects.all(), "answered_at", answer_counts())
    by_day(Ticket.objects.all(), "created_at", opened_counts())
    by_day(Ticket.objects.all(), "resolved_at", resolved_counts())
    by_day(loop_tickets(), "source_survey__answered_at", LOOP_COUNTS)
    return found


def _write_days(days: set[dt.date] | None) -> int:
    """Recompute the daily rows of ``days`` (None: every day) and their spans; returns the rows written."""
    values = _counts_by_day(days)
    old_days = FiguresDay.objects.all() if days is None else FiguresDay.objects.filter(day__in=sorted(days))
    old_days.delete()
    rows = [
        FiguresDay(day=day, **{f: counts.get(f) or 0 for f in COUNT_FIELDS})
        for day, counts in values.items()
        if any(counts.values())
    ]
    FiguresDay.objects.bulk_create(rows, batch_size=CHUNK)
    old_spans = FiguresSpan.objects.all() if days is None else FiguresSpan.objects.filter(day__in=sorted(days))
    old_spans.delete()
    for kind, (applies, at, begin, until) in SPANS.items():
        tickets = Ticket.objects.filter(applies)
        if days is not None:
            tickets = tickets.filter(within(at, _ranges(days)))
        found = tickets.order_by().annotate(_at=F(at), _span=_span(begin, until)).values_list("pk", "_at", "_span")
        FiguresSpan.objects.bulk_create(
            (
                FiguresSpan(ticket_id=pk, kind=kind, at=selected_at, day=local_date(selected_at), span=span)
                for pk, selected_at, span in found.iterator(chunk_size=CHUNK)
            ),
            batch_size=CHUNK,
        )
    return len(rows)


def _lock() -> FiguresWatermark:
    FiguresWatermark.objects.get_or_create(pk=1)
    return FiguresWatermark.objects.select_for_update().get(pk=1)


def rebuild() -> int:
    """Recompute the whole rollup from the raw rows; returns the daily rows written."""
    with transaction.atomic():
        watermark = _lock()
        now = timezone.now()
        written = _write_days(None)
        watermark.refreshed_at = now
        watermark.save(update_fields=["refreshed_at"])
    logger.info("feedback rollup rebuilt days=%s", written)
    return written


def changed_days(since: dt.datetime, now: dt.datetime) -> set[dt.date]:
    """The business days whose counts or spans may have changed since ``since``."""
    days = {
        local_date(at)
        for at in Survey.objects.filter(Q(answered_at__gte=since) | Q(created_at__gte=since, answered_at__isnull=False))
        .order_by()
        .values_list("answered_at", flat=True)
    }
    tickets = Ticket.objects.filter(
        Q(updated_at__gte=since)
        | Q(first_response_due_at__gte=since - dt.timedelta(days=1), first_response_due_at__lte=now)
        | Q(resolution_due_at__gte=since - dt.timedelta(days=1), resolution_due_at__lte=now)
    ).aggregate(opened=Min("created_at"), answered=Min("source_survey__answered_at"))
    first = min((at for at in tickets.values() if at is not None), default=None)
    if first is not None:
        day, today = local_date(first), local_date(now)
        days |= {day + dt.timedelta(days=i) for i in range((today - day).days + 1)}
    return days


def refresh() -> int:
    """Bring the rollup up to date with what changed since the last run (the first run rebuilds); returns the
    daily rows written."""
    with transaction.atomic():
        watermark = _lock()
        if watermark.refreshed_at is None:
            now = timezone.now()
            written = _write_days(None)
        else:
            now = timezone.now()
            written = _write_days(changed_days(watermark.refreshed_at - SAFETY_MARGIN, now))
        watermark.refreshed_at = now
        watermark.save(update_fields=["refreshed_at"])
    logger.info("feedback rollup refreshed days=%s", written)
    return written


def refreshed_at() -> dt.datetime | None:
    """When the rollup was last brought up to date (None: never)."""
    return FiguresWatermark.objects.filter(pk=1).values_list("refreshed_at", flat=True).first()


def _split(start: dt.datetime, end: dt.datetime) -> tuple[dt.date | None, dt.date | None, list]:
    """The whole business days of [start, end) (first, last; None when there are none) and the partial ranges at
    either end."""
    first = local_date(start)
    if local_day_start(first) < start:
        first += dt.timedelta(days=1)
    last = local_date(end) - dt.timedelta(days=1)  # the day ``end`` falls on is partial (or starts at ``end``)
    if first > last:
        return None, None, [(start, end)] if start < end else []
    edges = [(start, local_day_start(first)), (local_day_start(last + dt.timedelta(days=1)), end)]
    return first, last, [(a, b) for a, b in edges if a < b]


def _medians(whole: tuple[dt.datetime, dt.datetime] | None, edges: list) -> dict[str, dt.timedelta | None]:
    """The median of each kind of span: those of the whole days from ``FiguresSpan``, those of the partial days
    from the tickets, in one pass over their union (in Python on SQLite)."""
    parts = []
    if whole is not None:
        parts.append(
            FiguresSpan.objects.filter(at__gte=whole[0], at__lt=whole[1])
            .order_by()
            .annotate(_kind=F("kind"), _span=F("span"))
            .values_list("_kind", "_span")
        )
    if edges:
        for kind, (applies, at, begin, until) in SPANS.items():
            parts.append(
                Ticket.objects.filter(applies, within(at, edges))
                .order_by()
                .annotate(_kind=Value(kind, output_field=CharField()), _span=_span(begin, until))
                .values_list("_kind", "_span")
            )
    if not parts:
        return dict.fromkeys(Span.values)
    union = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    if connection.vendor != "postgresql":
        found: dict[str, list] = {kind: [] for kind in Span.values}
        for kind, span in union:
            found[kind].append(span)
        return {kind: statistics.median(values) if values else None for kind, values in found.items()}
    sql, params = union.query.sql_with_params()
    columns = ", ".join(
        "PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY u.span) FILTER (WHERE u.kind = %s)" for _kind in Span.values
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM ({sql}) AS u (kind, span)", [*Span.values, *params])  # noqa: S608
        row = cursor.fetchone()
    return dict(zip(Span.values, row, strict=True))


def _span(begin: str, until: str) -> ExpressionWrapper:
    return ExpressionWrapper(F(until) - F(begin), output_field=DurationField())


def figures_from_rollups(*, start: dt.datetime, end: dt.datetime, now: dt.datetime | None = None) -> Figures:
    """The figures of ``feedback_figures``, read from the rollup (whole days) and the raw rows (partial days)."""
    now = now or timezone.now()
    figures = Figures(start=start, end=end)
    first, last, edges = _split(start, end)
    counts = {}
    if first is not None:
        counts = FiguresDay.objects.filter(day__gte=first, day__lte=last).aggregate(
            **{f: Sum(f, default=0) for f in COUNT_FIELDS}
        )
    if edges:
        for qs, field_name, aggregates in (
            (Survey.objects.all(), "answered_at", answer_counts()),
            (Ticket.objects.all(), "created_at", opened_counts()),
            (Ticket.objects.all(), "resolved_at", resolved_counts()),
            (loop_tickets(), "source_survey__answered_at", LOOP_COUNTS),
        ):
            for name, value in qs.filter(within(field_name, edges)).aggregate(**aggregates).items():
                counts[name] = (counts.get(name) or 0) + (value or 0)
    set_counts(figures, counts)
    whole = (local_day_start(first), local_day_start(last + dt.timedelta(days=1))) if first is not None else None
    medians = _medians(whole, edges)
    figures.median_first_response = medians[Span.FIRST_RESPONSE]
    figures.median_resolution = medians[Span.RESOLUTION]
    figures.median_loop_close = medians[Span.LOOP]
    figures.open_by_age = open_by_age(now)
    return figures
