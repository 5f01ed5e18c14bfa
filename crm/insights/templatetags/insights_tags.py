"""How the insights pages write a figure: by its unit, "—" for a figure that cannot be computed (no queries)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django import template
from django.utils.translation import gettext as _

from customers.money import YEN, format_money

from ..models import SEGMENT_BADGE_CLASSES

register = template.Library()

HEAT_BUCKETS = 10  # the cohort table's shades: heat-0 (no one) … heat-10 (everyone)


def _number(value) -> float | int | None:
    if value is None:
        return None
    if isinstance(value, dt.timedelta):
        return value.total_seconds() / 3600
    if isinstance(value, Decimal):
        return float(value)
    return value


def format_value(value, unit: str) -> str:
    """¥12,345 · 12.5% · 1,234 · 3.2 h · 4.0 days · 41.2 (a score); "—" for None."""
    value = _number(value)
    if value is None:
        return "—"
    if unit == "yen":
        return format_money(round(value), YEN)
    if unit == "percent":
        return f"{value:.1f}%"
    if unit == "hours":
        return _("%(value)s h") % {"value": f"{value:,.1f}"}
    if unit == "days":
        return _("%(value)s days") % {"value": f"{value:,.1f}"}
    if unit == "score":
        return f"{value:.1f}"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{int(value):,}"


def format_change(value, unit: str) -> str:
    """The difference to the previous period, signed, in the figure's unit (percentage points for a share)."""
    value = _number(value)
    if value is None:
        return "—"
    sign = "+" if value > 0 else "−" if value < 0 else "±"
    size = abs(value)
    if unit == "percent":
        return _("%(sign)s%(value)s pt") % {"sign": sign, "value": f"{size:.1f}"}
    return sign + format_value(size, unit)


@register.filter
def figure_value(value, unit: str) -> str:
    return format_value(value, unit)


@register.filter
def figure_change(value, unit: str) -> str:
    return format_change(value, unit)


@register.filter
def trend_class(figure) -> str:
    """text-success when the figure moved the good way, text-danger when the bad way, muted when not at all."""
    change = _number(figure.change)
    if not change:
        return "text-body-secondary"
    good = (change > 0) == figure.definition.higher_is_better
    return "text-success" if good else "text-danger"


@register.filter
def trend_arrow(figure) -> str:
    change = _number(figure.change)
    if not change:
        return ""
    return "▲" if change > 0 else "▼"


@register.filter
def heat_class(share) -> str:
    """A CSS class for the share (in percent) of a cohort still purchasing: heat-0 … heat-10; heat-none for
    months not yet reached."""
    if share is None:
        return "heat-none"
    share = float(share)
    bucket = max(0, min(HEAT_BUCKETS, round(share * HEAT_BUCKETS / 100)))
    if share > 0 and not bucket:
        bucket = 1  # anyone at all shows a little colour
    return f"heat-{bucket}"


@register.filter
def share_percent(share) -> str:
    return "—" if share is None else f"{float(share):.1f}%"


@register.filter
def segment_badge_class(segment: str) -> str:
    """The badge colour of an RFM segment (``SEGMENT_BADGE_CLASSES``), grey for the others."""
    return SEGMENT_BADGE_CLASSES.get(segment, "text-bg-secondary")
