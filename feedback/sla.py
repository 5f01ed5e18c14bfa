"""Business-time arithmetic for SLAs: due times in working hours (skipping nights, weekends, holidays) or
in calendar hours, in the business time zone (settings.TIME_ZONE).

Pure functions over a ``BusinessCalendar`` (loaded by ``calendar_load()``: the ``BusinessHours`` and
``Holiday`` rows, and the public holidays of ``TSUNAGU_HOLIDAY_COUNTRY``), so the rules are tested without
a database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Container, Iterable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.conf import settings

from .holidays import DaysOff
from .models import BusinessHours, Holiday

# Searching further than this for enough open hours means the calendar is broken (e.g. a year of holidays).
MAX_DAYS = 3 * 366


class CalendarError(ValueError):
    """The calendar has no working hours within reach."""


@dataclass(frozen=True)
class BusinessCalendar:
    tz: ZoneInfo
    # weekday (Monday 0) -> opening intervals of that day, local times, sorted
    hours: dict[int, tuple[tuple[dt.time, dt.time], ...]] = field(default_factory=dict)
    holidays: Container[dt.date] = frozenset()

    @classmethod
    def build(
        cls,
        *,
        hours: Iterable[tuple[int, dt.time, dt.time]],
        holidays: Iterable[dt.date] = (),
        country: str = "",
        tz: str | ZoneInfo | None = None,
    ) -> BusinessCalendar:
        """``holidays``: the dates listed; ``country``: whose public holidays are days off too (none if empty)."""
        by_day: dict[int, list[tuple[dt.time, dt.time]]] = {}
        for weekday, opens, closes in hours:
            by_day.setdefault(weekday, []).append((opens, closes))
        zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz or settings.TIME_ZONE)
        return cls(
            tz=zone,
            hours={day: tuple(sorted(intervals)) for day, intervals in by_day.items()},
            holidays=DaysOff(holidays, country),
        )

    @property
    def has_hours(self) -> bool:
        return any(self.hours.values())

    def is_working_day(self, day: dt.date) -> bool:
        return day not in self.holidays and bool(self.hours.get(day.weekday()))

    def intervals(self, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
        """The day's opening intervals as aware datetimes (empty on holidays and closed weekdays)."""
        if day in self.holidays:
            return []
        return [
            (dt.datetime.combine(day, opens, tzinfo=self.tz), dt.datetime.combine(day, closes, tzinfo=self.tz))
            for opens, closes in self.hours.get(day.weekday(), ())
        ]


def calendar_load() -> BusinessCalendar:
    """The business calendar: the working week, the holidays staff listed, and the public holidays of
    ``TSUNAGU_HOLIDAY_COUNTRY`` (two small queries)."""
    return BusinessCalendar.build(
        hours=BusinessHours.objects.values_list("weekday", "opens_at", "closes_at"),
        holidays=Holiday.objects.values_list("date", flat=True),
        country=settings.TSUNAGU_HOLIDAY_COUNTRY,
    )


def add_business_minutes(start: dt.datetime, minutes: int, calendar: BusinessCalendar) -> dt.datetime:
    """The moment ``minutes`` of open time after ``start``.

    Time outside the opening hours does not count: a ticket opened on Friday at 17:30 with two business
    hours (09:00–18:00) is due on Monday at 10:30, or on Tuesday when Monday is a holiday. A deadline
    that uses up an interval exactly falls on its closing time.
    """
    if minutes <= 0:
        return start
    if not calendar.has_hours:
        raise CalendarError("The business calendar has no working hours: add some in the admin (Business hours).")
    remaining = dt.timedelta(minutes=minutes)
    local = start.astimezone(calendar.tz)
    day = local.date()
    for _ in range(MAX_DAYS):
        for opens, closes in calendar.intervals(day):
            if closes <= local:
                continue
            begin = max(opens, local)
            available = closes - begin
            if remaining <= available:
                return begin + remaining
            remaining -= available
        day += dt.timedelta(days=1)
    raise CalendarError(f"Fewer than {minutes} working minutes in the {MAX_DAYS} days after {start.isoformat()}.")


def business_minutes_between(start: dt.datetime, end: dt.datetime, calendar: BusinessCalendar) -> int:
    """Open minutes from ``start`` to ``end`` (0 when ``end`` is not after ``start``), rounded down."""
    if end <= start:
        return 0
    local_start, local_end = start.astimezone(calendar.tz), end.astimezone(calendar.tz)
    total = dt.timedelta()
    day = local_start.date()
    last = local_end.date()
    while day <= last:
        for opens, closes in calendar.intervals(day):
            begin, finish = max(opens, local_start), min(closes, local_end)
            if finish > begin:
                total += finish - begin
        day += dt.timedelta(days=1)
    return int(total.total_seconds() // 60)


def due_at(start: dt.datetime, minutes: int, *, business_hours: bool, calendar: BusinessCalendar) -> dt.datetime:
    """``minutes`` after ``start`` in business time or in calendar time."""
    if business_hours:
        return add_business_minutes(start, minutes, calendar)
    return start + dt.timedelta(minutes=minutes)


def minutes_between(start: dt.datetime, end: dt.datetime, *, business_hours: bool, calendar: BusinessCalendar) -> int:
    if business_hours:
        return business_minutes_between(start, end, calendar)
    return max(0, int((end - start).total_seconds() // 60))


def resume_due(
    due: dt.datetime,
    *,
    paused_at: dt.datetime,
    resumed_at: dt.datetime,
    business_hours: bool,
    calendar: BusinessCalendar,
) -> dt.datetime:
    """A deadline after the clock stood still from ``paused_at`` to ``resumed_at``.

    The time that was left when the clock stopped is counted again from ``resumed_at``; a deadline that had
    already passed when the clock stopped stays where it was (the breach happened).
    """
    if due <= paused_at:
        return due
    left = minutes_between(paused_at, due, business_hours=business_hours, calendar=calendar)
    if business_hours:
        return due_at(resumed_at, left, business_hours=True, calendar=calendar)
    return resumed_at + (due - paused_at)
