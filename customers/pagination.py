"""Keyset ("cursor") pagination, shared by every list page of every app.

OFFSET pagination reads and throws away every row before the page, so page 20,000 of a million
customers costs 20,000 times page 1. A keyset page instead starts where the previous one ended:
``WHERE (sort_key, id) < (last_key, last_id) ORDER BY sort_key DESC, id DESC LIMIT n``, which an index
on ``(sort_key, id)`` answers in the same time on every page. Counting is capped (``count_capped``)
for the same reason: an exact count of a million rows is a full scan.

``KeysetListView`` is the staff list page built on them, which every app's list views configure.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import F, Field, Func, Q, QuerySet, Value
from django.db.models.lookups import GreaterThan, LessThan, Lookup
from django.http import HttpResponse, QueryDict
from django.shortcuts import render
from django.utils.dateparse import parse_datetime
from django.views.generic import ListView

from . import search_tokens


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


class KeysetListView(ListView):
    """A staff list page read a keyset page at a time: a list view sets what differs and overrides little.

    - ``get_queryset()``: the filtered rows; the count (when ``counted``) is taken on it, capped at ``count_cap``.
    - ``keyset_ordering``, or ``orderings`` (the whitelisted sorts by the key the ``sort`` parameter names) with
      ``default_sort``: only these reach ``order_by``. ``get_keyset()`` may narrow the rows the page is read from.
    - ``template_name``: the full page; ``results_template_name``: the partial an htmx request whose target is the
      element ``results_target`` gets instead (the same context).

    The context has ``page`` (a ``Page``), ``query`` (the request's parameters without the cursor, for the
    page's links) and, with ``orderings``, ``sort``.
    """

    keyset_ordering: Ordering | None = None
    orderings: Mapping[str, Ordering] | None = None
    default_sort: str = ""
    counted: bool = True
    count_cap: int | None = None
    results_template_name: str = ""
    results_target: str = ""
    # Parameters left out of ``query``: the cursor, and any other one-off the page reads.
    link_drop_params: tuple[str, ...] = ("after", "before")

    def get(self, request, *args, **kwargs) -> HttpResponse:
        self.sort = self.get_sort()
        queryset = self.get_queryset()
        self.page = self.get_page(queryset)
        self.object_list = self.page.rows
        context = self.get_context_data()
        if self.is_results_request():
            return render(request, self.results_template_name, context)
        return self.render_to_response(context)

    def is_results_request(self) -> bool:
        """An htmx request for the results alone (a filter or a "more" link swapping ``results_target``)."""
        headers = self.request.headers
        return bool(self.results_template_name and headers.get("HX-Request")) and (
            headers.get("HX-Target") == self.results_target
        )

    def get_sort(self) -> str:
        """The requested sort when it is whitelisted, else the default."""
        if not self.orderings:
            return ""
        sort = self.request.GET.get("sort", self.default_sort)
        return sort if sort in self.orderings else self.default_sort

    def get_keyset(self, queryset: QuerySet) -> tuple[QuerySet, Ordering]:
        """The rows a page is read from (the queryset's ``for_list()``: what the page shows) and their ordering."""
        ordering = self.orderings[self.sort] if self.orderings else self.keyset_ordering
        return queryset.for_list(), ordering

    def get_page(self, queryset: QuerySet) -> Page:
        rows, ordering = self.get_keyset(queryset)
        page = keyset_page(
            rows,
            ordering,
            after=self.request.GET.get("after", ""),
            before=self.request.GET.get("before", ""),
        )
        if self.counted:
            page.count, page.count_capped = count_capped(queryset, self.count_cap)
        return page

    def link_query(self) -> QueryDict:
        """The request's parameters without the cursor: what the page's sort, filter and "more" links keep."""
        query = self.request.GET.copy()
        for key in self.link_drop_params:
            query.pop(key, None)
        return search_tokens.link_query(self.request, query)  # the search text as a token, never in a link

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(page=self.page, query=self.link_query().urlencode())
        if self.orderings:
            context["sort"] = self.sort
        return context
