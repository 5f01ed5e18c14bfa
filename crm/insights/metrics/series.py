"""The dashboard's charts: the period's days from DailyRollup, in buckets of days, weeks or months."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from customers.localtime import add_months
from feedback.figures import nps_score, percent

from ..models import DailyRollup
from .period import Period
from .reading import DAY_FIELDS


@dataclass
class Series:
    labels: list[str]
    datasets: dict[str, list[float | int | None]]


def _buckets(period: Period) -> tuple[str, list[tuple[str, dt.date, dt.date]]]:
    """Chart buckets: days up to 62 days, weeks (Monday) up to a year and a half, months beyond."""
    if period.days <= 62:
        return "day", [(d.isoformat(), d, d) for d in _days(period.start, period.end)]
    buckets = []
    if period.days <= 550:
        start = period.start - dt.timedelta(days=period.start.weekday())
        while start <= period.end:
            end = start + dt.timedelta(days=6)
            buckets.append((start.isoformat(), max(start, period.start), min(end, period.end)))
            start = end + dt.timedelta(days=1)
        return "week", buckets
    start = period.start.replace(day=1)
    while start <= period.end:
        nxt = add_months(start, 1)
        buckets.append((start.strftime("%Y-%m"), max(start, period.start), min(nxt - dt.timedelta(days=1), period.end)))
        start = nxt
    return "month", buckets


def _days(start: dt.date, end: dt.date) -> Iterable[dt.date]:
    d = start
    while d <= end:
        yield d
        d += dt.timedelta(days=1)


SERIES_SECTIONS = {"activity": "overview", "revenue": "revenue", "nps_csat": "service", "points": "loyalty"}


def _series(period: Period, sections: list[str]) -> dict[str, Series]:
    rows = {
        r["day"]: r
        for r in DailyRollup.objects.filter(day__gte=period.start, day__lte=period.end).values("day", *DAY_FIELDS)
    }
    _grain, buckets = _buckets(period)
    labels = [label for label, _s, _e in buckets]

    def total(f: str, start: dt.date, end: dt.date):
        return sum((rows[d][f] for d in _days(start, end) if d in rows), 0)

    series: dict[str, Series] = {}
    if "overview" in sections:
        series["activity"] = Series(
            labels,
            {
                "new_customers": [total("new_customers", s, e) for _l, s, e in buckets],
                "touchpoints": [total("touchpoints", s, e) for _l, s, e in buckets],
            },
        )
    if "revenue" in sections:
        series["revenue"] = Series(
            labels,
            {
                "revenue": [float(total("revenue", s, e)) for _l, s, e in buckets],
                "orders": [total("orders", s, e) for _l, s, e in buckets],
            },
        )
    if "service" in sections:
        series["nps_csat"] = Series(
            labels,
            {
                "nps": [
                    nps_score(total("nps_promoters", s, e), total("nps_detractors", s, e), total("nps_answers", s, e))
                    for _l, s, e in buckets
                ],
                "csat": [percent(total("csat_satisfied", s, e), total("csat_answers", s, e)) for _l, s, e in buckets],
            },
        )
    if "loyalty" in sections:
        series["points"] = Series(
            labels,
            {
                "issued": [total("points_earned", s, e) + total("points_bonus", s, e) for _l, s, e in buckets],
                "redeemed": [-total("points_redeemed", s, e) for _l, s, e in buckets],
            },
        )
    return series
