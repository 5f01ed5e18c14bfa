"""A period: a range of whole days in the business time zone, both ends included, and the dashboard's presets."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date  # inclusive

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("a period ends on or after its start")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        """The period of the same length just before this one."""
        end = self.start - dt.timedelta(days=1)
        return Period(end - dt.timedelta(days=self.days - 1), end)

    @classmethod
    def last_days(cls, n: int, *, today: dt.date | None = None) -> Period:
        today = today or timezone.localdate()
        return cls(today - dt.timedelta(days=n - 1), today)

    @classmethod
    def preset(cls, key: str, *, today: dt.date | None = None) -> Period:
        """One of PRESETS: "7", "30", "90", "365" (last n days), "this_month" or "last_month"."""
        today = today or timezone.localdate()
        if key == "this_month":
            return cls(today.replace(day=1), today)
        if key == "last_month":
            last = today.replace(day=1) - dt.timedelta(days=1)
            return cls(last.replace(day=1), last)
        return cls.last_days(int(key), today=today)


# The dashboard's ready-made ranges; warm_dashboards() computes them after every refresh.
PRESETS = ["7", "30", "90", "365", "this_month", "last_month"]
