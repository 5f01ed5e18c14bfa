"""Days off for the SLA calendar: the public holidays of the shop's country (``TSUNAGU_HOLIDAY_COUNTRY``),
from the ``holidays`` package, for any year; and the days staff list in the ``Holiday`` table (company
closing days such as 29 December – 3 January).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable

import holidays
from django.conf import settings


def _code(country: str) -> tuple[str, str | None]:
    code, _sep, subdivision = (country or "").strip().partition("-")
    return code.upper(), subdivision or None


def country_holidays(country: str) -> holidays.HolidayBase | None:
    """The public holidays of ``country``: an ISO code ("JP"), or one with a subdivision ("US-CA"); each year
    is computed on first use. None for an empty code; NotImplementedError for an unknown one."""
    code, subdivision = _code(country)
    return holidays.country_holidays(code, subdiv=subdivision) if code else None


def public_holidays(year: int, *, country: str | None = None, language: str | None = None) -> list[tuple[dt.date, str]]:
    """The year's public holidays in date order, named in ``language`` where the package has it (else in the
    country's own). ``country`` defaults to ``TSUNAGU_HOLIDAY_COUNTRY``."""
    code, subdivision = _code(settings.TSUNAGU_HOLIDAY_COUNTRY if country is None else country)
    if not code:
        return []
    return sorted(holidays.country_holidays(code, subdiv=subdivision, years=year, language=language).items())


def japanese_holidays(year: int) -> list[tuple[dt.date, str]]:
    """Japan's public holidays of ``year`` in Japanese, with substitute (振替休日) and citizens' (国民の休日) days."""
    return public_holidays(year, country="JP", language="ja")


@functools.lru_cache(maxsize=256)
def _days_off(country: str, year: int) -> frozenset[dt.date]:
    """One country's public holidays of one year: fixed for the package's version, so computed once per process."""
    code, subdivision = _code(country)
    return frozenset(holidays.country_holidays(code, subdiv=subdivision, years=year))


class DaysOff:
    """Listed dates, and a country's public holidays of any year."""

    __slots__ = ("country", "listed")

    def __init__(self, listed: Iterable[dt.date] = (), country: str = "") -> None:
        self.listed = frozenset(listed)
        self.country = (country or "").strip()

    def __contains__(self, day: object) -> bool:
        if day in self.listed:
            return True
        return bool(self.country) and isinstance(day, dt.date) and day in _days_off(self.country, day.year)
