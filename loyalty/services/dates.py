"""Dates in the business time zone, and the calendar arithmetic the ledger and greetings share."""

from __future__ import annotations

import calendar
import datetime as dt

from django.conf import settings

from customers.localtime import add_months, local_datetime, local_today

__all__ = ["add_months", "greeting_send_after", "local_today", "same_day_days"]


def same_day_days(today: dt.date) -> list[int]:
    """Days of the month whose anniversaries fall on ``today``: 29 February is kept on 28 February in
    years without one (RELIABILITY.md), so that it is greeted every year and only once."""
    if today.month == 2 and today.day == 28 and not calendar.isleap(today.year):
        return [28, 29]
    return [today.day]


def greeting_send_after(day: dt.date) -> dt.datetime:
    """Greetings go out from TSUNAGU_LOYALTY_GREETING_HOUR on their day, in the business time zone."""
    return local_datetime(day, dt.time(hour=settings.TSUNAGU_LOYALTY_GREETING_HOUR))
