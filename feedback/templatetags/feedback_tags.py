"""Template helpers of the feedback pages: SLA countdowns and durations, select boxes' options (no queries)."""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from ..queue import OPTION_HTML, PRIORITY_CLASSES, STATUS_CLASSES, CountdownFormat, DurationFormat, escape_value

register = template.Library()


@register.filter
def duration(value: dt.timedelta | None) -> str:
    """3 d 4 h, 2 h 15 min, 40 min (rounded down to the minute); "—" for nothing."""
    return "—" if value is None else DurationFormat()(value)


@register.inclusion_tag("feedback/includes/_sla_badge.html")
def sla_badge(ticket, now: dt.datetime | None = None) -> dict:
    """The countdown to the ticket's running deadline: ok, soon (in the warning window) or overdue."""
    return {"countdown": CountdownFormat()(ticket, now or timezone.now())}


@register.filter
def status_class(status: str) -> str:
    """Bootstrap's own badge colours, so the badge reads the same on pages that do not load feedback.css."""
    return STATUS_CLASSES.get(status, "text-bg-light border")


@register.filter
def priority_class(priority: str) -> str:
    return PRIORITY_CLASSES.get(priority, "text-bg-light border")


@register.simple_tag
def select_options(choices, selected=None) -> SafeString:
    """The ``<option>`` of each (value, label) of ``choices``, the one equal to ``selected`` selected: one tag in
    place of a loop whose tags and lookups ran once per option."""
    options = "".join(
        OPTION_HTML.format(escape_value(value), " selected" if value == selected else "", escape_value(label))
        for value, label in choices
    )
    return mark_safe(options)  # noqa: S308 (every value and label escaped above)


@register.filter
def quoted_parts(text: str) -> tuple[str, str]:
    """(the new part, the quoted history) of a message a customer mailed in; the history is folded away."""
    from touchpoints.outreach.channels.mailbox.quoting import split_quoted

    return split_quoted(text or "")
