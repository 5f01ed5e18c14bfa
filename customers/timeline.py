"""The customer timeline: one stream, newest first, composed from providers that each app registers.

The customers app knows nothing of touchpoints, points or tickets. Each app registers a provider in
its ``AppConfig.ready()`` (the way the admin collects ModelAdmins); the page asks every provider for
its newest ``limit`` entries before a cursor (one query each), merges them and keeps ``limit``.
So a page costs one query per provider whatever the length of the history.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.dateparse import parse_datetime


@dataclass(frozen=True)
class TimelineEntry:
    at: dt.datetime
    kind: str
    pk: int
    template: str
    obj: Any
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def sort_key(self) -> tuple:
        return (self.at, self.kind, self.pk)


@dataclass(frozen=True)
class Cursor:
    at: dt.datetime
    kind: str
    pk: int

    def encode(self) -> str:
        raw = json.dumps([self.at.isoformat(), self.kind, self.pk]).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor | None:
        if not text:
            return None
        try:
            at, kind, pk = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
            parsed = parse_datetime(at)
            if parsed is None or not isinstance(kind, str) or not isinstance(pk, int):
                return None
            return cls(parsed, kind, pk)
        except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
            return None

    def before_q(self, kind: str, at_field: str) -> Q:
        """Rows of ``kind`` that come after this cursor in (at DESC, kind DESC, pk DESC) order."""
        if kind < self.kind:
            return Q(**{f"{at_field}__lte": self.at})
        if kind == self.kind:
            # The redundant upper bound lets the (customer, at, id) index start at the cursor.
            return Q(**{f"{at_field}__lte": self.at}) & (
                Q(**{f"{at_field}__lt": self.at}) | Q(**{at_field: self.at, "pk__lt": self.pk})
            )
        return Q(**{f"{at_field}__lt": self.at})


@dataclass(frozen=True)
class TimelineProvider:
    """``queryset(customer, filters)`` gives the rows; ``at_field`` orders them; one query per page."""

    kind: str
    label: Any
    template: str
    queryset: Callable[[Any, dict[str, str]], QuerySet | None]
    at_field: str = "created_at"
    icon: str = "circle"
    # Optional template of extra filter fields for the timeline header (their values reach ``queryset``).
    filters_template: str = ""


_providers: dict[str, TimelineProvider] = {}


def register(provider: TimelineProvider) -> None:
    _providers[provider.kind] = provider


def providers() -> list[TimelineProvider]:
    return sorted(_providers.values(), key=lambda p: p.kind)


@dataclass
class TimelinePage:
    entries: list[TimelineEntry]
    next_cursor: str


def timeline_page(
    customer: Any, *, cursor: str = "", limit: int = 25, kinds: list[str] | None = None, filters: dict | None = None
) -> TimelinePage:
    position = Cursor.decode(cursor)
    filters = filters or {}
    entries: list[TimelineEntry] = []
    for provider in providers():
        if kinds and provider.kind not in kinds:
            continue
        qs = provider.queryset(customer, filters)
        if qs is None:  # the provider has nothing matching these filters
            continue
        if position is not None:
            qs = qs.filter(position.before_q(provider.kind, provider.at_field))
        rows = qs.order_by(f"-{provider.at_field}", "-pk")[: limit + 1]
        entries.extend(
            TimelineEntry(
                at=getattr(row, provider.at_field), kind=provider.kind, pk=row.pk, template=provider.template, obj=row
            )
            for row in rows
        )
    entries.sort(key=lambda e: e.sort_key, reverse=True)
    more = len(entries) > limit
    entries = entries[:limit]
    next_cursor = Cursor(entries[-1].at, entries[-1].kind, entries[-1].pk).encode() if more and entries else ""
    return TimelinePage(entries=entries, next_cursor=next_cursor)
