"""Cohort retention: customers by the month of their first purchase, and who bought again in each month after."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from customers.localtime import add_months

from ..models import CohortCell
from .reading import ratio


@dataclass
class CohortRow:
    month: dt.date
    size: int
    counts: list[int | None]
    shares: list[float | None]


@dataclass
class Cohorts:
    months: list[dt.date]
    rows: list[CohortRow]


def cohorts(*, end: dt.date | None = None, months: int = 12) -> Cohorts:
    """The ``months`` monthly cohorts (by first purchase) up to ``end``'s month, offsets 0..months-1: one query."""
    end = end or timezone.localdate()
    last = end.replace(day=1)
    cohort_months = [add_months(last, -i) for i in range(months - 1, -1, -1)]
    cells = {
        (c.cohort_month, c.month_offset): c.customers
        for c in CohortCell.objects.filter(
            cohort_month__gte=cohort_months[0], cohort_month__lte=last, month_offset__lt=months
        )
    }
    rows = []
    for month in cohort_months:
        size = cells.get((month, 0), 0)
        reached = (last.year - month.year) * 12 + last.month - month.month
        counts = [cells.get((month, o), 0) if o <= reached else None for o in range(months)]
        shares = [None if c is None else ratio(100 * c, size) for c in counts]
        shares = [None if s is None else round(s, 1) for s in shares]
        rows.append(CohortRow(month=month, size=size, counts=counts, shares=shares))
    return Cohorts(months=cohort_months, rows=rows)
