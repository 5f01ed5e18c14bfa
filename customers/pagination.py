"""Keyset ("cursor") pagination, shared by every list page of every app.

OFFSET pagination reads and throws away every row before the page, so page 20,000 of a million
customers costs 20,000 times page 1. A keyset page instead starts where the previous one ended:
``WHERE (sort_key, id) < (last_key, last_id) ORDER BY sort_key DESC, id DESC LIMIT n``, which an index
on ``(sort_key, id)`` answers in the same time on every page. Counting is capped (``count_capped``)
for the same reason: an exact count of a million rows is a full scan.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import F, Field, Func, Q, QuerySet, Value
from django.db.models.lookups import GreaterThan, LessThan, Lookup
from django.utils.dateparse import parse_datetime


@dataclass(frozen=True)
class Ordering:
    """One whitelisted sort: a non-null field and a direction; ``id`` breaks ties the same way."""

    field: str
    descending: bool
    label: str = ""
    # The tie-breaker: the id, or the same id read from the joined table whose index gives the order.
    tiebreak: str = "id"
    # Whether ``(field, tiebreak)`` is one index's key, so a row comparison can seek into it; not for a field
    # of a multi-valued join (a tag's), where the comparison is spelled out with a bound on the field.
    row_compare: bool = True

    def order_by(self, *, reverse: bool = False) -> list[str]:
        desc = self.descending != reverse
        prefix = "-" if desc else ""
        return [f"{prefix}{self.field}", f"{prefix}{self.tiebreak}"]


@dataclass
class Page:
    rows: list
    has_next: bool
    has_previous: bool
    next_cursor: str = ""
    previous_cursor: str = ""
    count: int = 0
    count_capped: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def __iter__(self):
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)


def _encode(value: Any, pk: int) -> str:
    if isinstance(value, dt.datetime):
        value = {"dt": value.isoformat()}
    elif isinstance(value, dt.date):
        value = {"d": value.isoformat()}
    raw = json.dumps([value, pk], separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> tuple[Any, int] | None:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value, pk = json.loads(raw)
        if isinstance(value, dict) and "dt" in value:
            value = parse_datetime(value["dt"])
            if value is None:
                return None
        elif isinstance(value, dict) and "d" in value:
            value = dt.date.fromisoformat(value["d"])
        if not isinstance(pk, int) or isinstance(value, dict | list):
            return None
        return value, pk
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        return None


class _Row(Func):
    """``ROW(a, b)``: compared with another row, element by element (PostgreSQL and SQLite both have row values)."""

    function = "ROW"
    output_field = Field()

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, template="(%(expressions)s)", **extra_context)


def _after(ordering: Ordering, value: Any, pk: int, *, backwards: bool) -> Lookup | Q:
    """Rows strictly after (value, pk) in the given direction: ``(field, id) > (value, pk)`` (``<`` descending), a
    row comparison that the (field, id) index seeks to directly. Spelled out as ``field > value OR (field = value
    AND id > pk)``, a cursor inside a long run of ties (most tickets share the "no deadline" key) made the index
    walk every tie before it."""
    desc = ordering.descending != backwards
    f, tiebreak = ordering.field, ordering.tiebreak
    if not ordering.row_compare:
        if desc:
            return Q(**{f"{f}__lte": value}) & (Q(**{f"{f}__lt": value}) | Q(**{f"{tiebreak}__lt": pk}))
        return Q(**{f"{f}__gte": value}) & (Q(**{f"{f}__gt": value}) | Q(**{f"{tiebreak}__gt": pk}))
    lookup = LessThan if desc else GreaterThan
    return lookup(_Row(F(f), F(tiebreak)), _Row(Value(value), Value(pk)))


def keyset_page(
    queryset: QuerySet,
    ordering: Ordering,
    *,
    after: str = "",
    before: str = "",
    size: int | None = None,
) -> Page:
    """One page of ``queryset`` in ``ordering``, after or before a cursor. Runs exactly one query."""
    size = size or settings.TSUNAGU_PAGE_SIZE
    backwards = False
    qs = queryset
    position = _decode(before) if before else None
    if position is not None:
        backwards = True
        qs = qs.filter(_after(ordering, *position, backwards=True))
    else:
        position = _decode(after) if after else None
        if position is not None:
            qs = qs.filter(_after(ordering, *position, backwards=False))
    rows = list(qs.order_by(*ordering.order_by(reverse=backwards))[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    if backwards:
        rows.reverse()
    page = Page(
        rows=rows,
        has_next=(more if not backwards else True),
        has_previous=(position is not None if not backwards else more),
    )
    if rows:
        first, last = rows[0], rows[-1]
        page.next_cursor = _encode(getattr(last, ordering.field), last.pk) if page.has_next else ""
        page.previous_cursor = _encode(getattr(first, ordering.field), first.pk) if page.has_previous else ""
    return page


def count_capped(queryset: QuerySet, cap: int | None = None) -> tuple[int, bool]:
    """Count up to ``cap`` rows (one query); returns (count, capped). Never scans past the cap."""
    cap = cap or settings.TSUNAGU_COUNT_CAP
    n = queryset.order_by()[: cap + 1].count()
    return min(n, cap), n > cap
