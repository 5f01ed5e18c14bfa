"""What the rollups count and how they are keyed: the edge kinds, the sentinel days, what counts as activity and
as a purchase, and the business days' bounds."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from customers.localtime import local_day_start
from touchpoints.models import Direction, Touchpoint, TouchpointType

ACTIVITY, PURCHASE, LEDGER, LAPSE = "activity", "purchase", "ledger", "lapse"
# Short edges: the same, with the from day brought forward to at most SHORT + 1 days before the to day. For a range
# of up to SHORT days that changes no answer, and each day then has at most SHORT + 2 rows: the dashboard's
# default ranges read a few thousand rows, not one per earlier day of history.
SHORT = 63
SHORT_SUFFIX = "~"
# Running counts by day (from BEFORE): customers live on a day (active in the lapse window before it), and
# purchasers of the 365 days up to a day, are the sum of the "+" rows minus the "-" rows up to that day.
LIVE_IN, LIVE_OUT = "live+", "live-"
# The same for the 365 days up to a day: customers active, purchasers, customers with a loyalty entry, and
# customers whose first purchase fell in those days and had no second one by that day (not repeat purchasers).
YEAR = 365
YEAR_KINDS = {ACTIVITY: ("act365+", "act365-"), PURCHASE: ("pur365+", "pur365-"), LEDGER: ("led365+", "led365-")}
SINGLE_IN, SINGLE_OUT = "one365+", "one365-"
YEAR_IN, YEAR_OUT = YEAR_KINDS[PURCHASE]
BEFORE = dt.date(1, 1, 1)  # "no earlier day"
AFTER = dt.date(9999, 12, 31)  # "no later day (yet)"
SAFETY_MARGIN = dt.timedelta(minutes=10)
CHUNK = 2000
# Activity = a touchpoint except the messages Tsunagu sends by itself (touchpoints.services.moves_journey).
ACTIVITY_SQL = f"NOT (t.source = '{Touchpoint.Source.SYSTEM}' AND t.direction = '{Direction.OUTBOUND}')"


def lapse_days() -> int:
    """TSUNAGU_LAPSE_DAYS: days without activity after which a customer has lapsed (180)."""
    return max(1, int(settings.TSUNAGU_LAPSE_DAYS))


def activity_touchpoints() -> QuerySet[Touchpoint]:
    return Touchpoint.objects.exclude(source=Touchpoint.Source.SYSTEM, direction=Direction.OUTBOUND).order_by()


def purchase_touchpoints() -> QuerySet[Touchpoint]:
    return Touchpoint.objects.filter(type__kind=TouchpointType.Kind.PURCHASE).order_by()


def day_bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start of ``start``, start of the day after ``end``) in the business time zone."""
    return local_day_start(start), local_day_start(end + dt.timedelta(days=1))


def _local_day(at: dt.datetime) -> dt.date:
    return timezone.localtime(at).date()
