"""The customer timeline: one stream, newest first, composed from providers that each app registers.

The customers app knows nothing of touchpoints, points or tickets. Each app registers a provider in
its ``AppConfig.ready()`` (the way the admin collects ModelAdmins); the page asks every provider for
its newest ``limit`` entries before a cursor (one query each), merges them and keeps ``limit``.
So a page costs one query per provider whatever the length of the history.

A provider may also write its entries' HTML itself (``render``): one call per page with all its rows, labels
translated and choice labels looked up once per page, every value escaped by ``format_html``, the same markup as
its template. ``render_page`` fills each entry's ``html`` that way; an entry without one is rendered through its
template (``customers/includes/_timeline_item.html``), as are entries built outside a page (a note just added).
The helpers below (``when``, ``time_html``, ``Message``, ``choice_labels``, ``user_name``) serve the apps' renderers.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from django.db.models import Model, Q, QuerySet
from django.utils import formats, timezone
from django.utils.dateparse import parse_datetime
from django.utils.html import format_html
from django.utils.safestring import SafeString

from .names import staff_name


@dataclass(frozen=True)
class TimelineEntry:
    at: dt.datetime
    kind: str
    pk: int
    template: str
    obj: Any
    extra: dict[str, Any] = field(default_factory=dict)
    # The whole ``<li>``, written by the provider's ``render``; empty: ``template`` writes the entry.
    html: str = ""

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
    # Optional: ``render(objs)`` gives the inner HTML of each of this provider's entries on a page, in order, in
    # one call (what it translates or looks up, it does once per page); without it ``template`` renders each.
    render: Callable[[Sequence[Any]], Sequence[str]] | None = None
    # One-to-one relations of Customer that ``queryset`` reads, joined into the timeline view's customer query.
    select_related: tuple[str, ...] = ()
    # The timeline filters (query parameters, e.g. "stage", "channel") that ``queryset`` applies. While a filter
    # some provider applies is set, the providers that cannot apply it show nothing: points have no channel, so
    # "LINE" shows what happened on LINE, not every points entry besides.
    applies_filters: tuple[str, ...] = ()
    # The permission a reader needs to see this provider's entries at all (as a panel has): marketing may open a
    # customer without reading their support correspondence.
    permission: str = ""
    # Optional: ``for_reader(queryset, user)`` marks what of each entry this reader may not read (the summary of a
    # support touchpoint a ticket logged); its ``render`` then leaves that out.
    for_reader: Callable[[QuerySet, Any], QuerySet] | None = None


_providers: dict[str, TimelineProvider] = {}


def register(provider: TimelineProvider) -> None:
    _providers[provider.kind] = provider


def providers(user: Any = None) -> list[TimelineProvider]:
    """Every provider, or, given a reader, those whose entries the reader may see."""
    found = sorted(_providers.values(), key=lambda p: p.kind)
    if user is None:
        return found
    return [p for p in found if not p.permission or user.has_perm(p.permission)]


def select_related() -> list[str]:
    return sorted({name for provider in _providers.values() for name in provider.select_related})


@dataclass
class TimelinePage:
    entries: list[TimelineEntry]
    next_cursor: str


def timeline_page(
    customer: Any,
    *,
    cursor: str = "",
    limit: int = 25,
    kinds: list[str] | None = None,
    filters: dict | None = None,
    user: Any = None,
) -> TimelinePage:
    """A page of ``customer``'s timeline; given ``user``, only the entries that reader may see."""
    position = Cursor.decode(cursor)
    filters = filters or {}
    active = {name for provider in _providers.values() for name in provider.applies_filters if filters.get(name)}
    entries: list[TimelineEntry] = []
    for provider in providers(user):
        if kinds and provider.kind not in kinds:
            continue
        if not active.issubset(provider.applies_filters):
            continue
        qs = provider.queryset(customer, filters)
        if qs is None:  # the provider has nothing matching these filters
            continue
        if user is not None and provider.for_reader is not None:
            qs = provider.for_reader(qs, user)
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


ITEM_HTML = '<li class="timeline-item" data-kind="{}">{}</li>'


def render_page(page: TimelinePage) -> TimelinePage:
    """Fill the ``html`` of the page's entries whose provider renders them: one ``render`` call per provider."""
    positions: dict[str, list[int]] = {}
    for i, entry in enumerate(page.entries):
        positions.setdefault(entry.kind, []).append(i)
    for kind, indexes in positions.items():
        provider = _providers.get(kind)
        if provider is None or provider.render is None:
            continue
        entries = page.entries
        htmls = provider.render([entries[i].obj for i in indexes])
        for i, html in zip(indexes, htmls, strict=True):
            entries[i] = replace(entries[i], html=format_html(ITEM_HTML, kind, html))
    return page


# --- For the providers' renderers ------------------------------------------------------------------

TIME_HTML = '<time datetime="{}">{}</time>'


def when(value: dt.datetime) -> str:
    """``value|date:"DATETIME_FORMAT"``: in the current time zone and language."""
    return formats.date_format(timezone.localtime(value), "DATETIME_FORMAT")


def time_html(value: dt.datetime) -> SafeString:
    """``<time datetime="{{ value|date:'c' }}">{{ value|date:"DATETIME_FORMAT" }}</time>``."""
    local = timezone.localtime(value)
    return format_html(TIME_HTML, local.isoformat(), formats.date_format(local, "DATETIME_FORMAT"))


class Message:
    """A ``{% blocktranslate with ... %}`` message written from Python: ``Message(gettext("by %(who)s"))`` once per page
    (a literal, so makemessages finds it), then ``message(who=name)`` per entry gives what the tag writes, the
    translation's own markup kept and the values escaped (the translation becomes a ``format_html`` format). The
    values are text: localize numbers and format dates first, as the tag would."""

    __slots__ = ("format",)

    def __init__(self, translated: str) -> None:
        braces = translated.replace("{", "{{").replace("}", "}}")
        self.format = _PLACEHOLDER.sub(lambda m: "%" if m[0] == "%%" else f"{{{m[1]}}}", braces)

    def __call__(self, **values: Any) -> SafeString:
        return format_html(self.format, **values)


_PLACEHOLDER = re.compile(r"%%|%\((\w+)\)s")


def choice_labels(model: type[Model], field_name: str) -> dict[Any, str]:
    """A field's choices in the current language, for ``labels.get(value, value)`` (what ``get_FOO_display``
    gives, without hashing and translating the choices again for every row)."""
    return {value: str(label) for value, label in model._meta.get_field(field_name).flatchoices}


def user_name(user: Any) -> str:
    """``user.get_full_name|default:user.get_username``; "" for no user."""
    return staff_name(user)
