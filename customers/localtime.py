"""Days in the business time zone (settings.TIME_ZONE) and the calendar arithmetic on them, for every app.

Dates are stored as dates and instants as UTC; a "day" (today, a report's period, a birthday) is always the
business zone's, whatever the server's clock zone (RELIABILITY.md: a greeting a day early or late).
"""

from __future__ import annotations

import calendar
import datetime as dt

from django.utils import timezone


def local_today() -> dt.date:
    """Today in the business time zone."""
    return timezone.localdate()


def local_date(at: dt.datetime) -> dt.date:
    """The business-zone day an instant falls on."""
    return timezone.localtime(at).date()


def local_datetime(day: dt.date, time: dt.time) -> dt.datetime:
    """``time`` o'clock on ``day`` in the business time zone, as an aware datetime."""
    return timezone.make_aware(dt.datetime.combine(day, time))


def local_day_start(day: dt.date) -> dt.datetime:
    """Midnight at the start of ``day`` in the business time zone: ``[start(d), start(d + 1))`` is the day ``d``."""
    return local_datetime(day, dt.time.min)


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by ``months`` calendar months (back when negative), kept within the month it lands in:
    31 January + 1 month is the last day of February (28th or 29th)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))
