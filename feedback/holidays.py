"""Japanese public holidays (国民の祝日) by the rules of the Public Holiday Law as amended for 2020 on.

Used to seed the ``Holiday`` table (a data migration holds the list it produced, 2024–2030) and by
``manage.py holidays_add_japanese`` for later years. The table is the truth the SLAs use, and staff edit it
(company closing days such as 29 December – 3 January are added there). The equinoxes follow the usual
approximation, valid 1980–2099; the government confirms each year's dates the February before.
"""

from __future__ import annotations

import datetime as dt


def _nth_monday(year: int, month: int, n: int) -> dt.date:
    first = dt.date(year, month, 1)
    offset = (7 - first.weekday()) % 7  # days to the first Monday
    return first + dt.timedelta(days=offset + 7 * (n - 1))


def vernal_equinox(year: int) -> dt.date:
    day = int(20.8431 + 0.242194 * (year - 1980) - (year - 1980) // 4)
    return dt.date(year, 3, day)


def autumnal_equinox(year: int) -> dt.date:
    day = int(23.2488 + 0.242194 * (year - 1980) - (year - 1980) // 4)
    return dt.date(year, 9, day)


def japanese_holidays(year: int) -> list[tuple[dt.date, str]]:
    """The year's holidays in date order, with substitute holidays (振替休日) and citizens' holidays (国民の休日)."""
    if not 2022 <= year <= 2099:
        raise ValueError("The rules here hold for 2022–2099 (2020 and 2021 moved holidays for the Olympics).")
    named: dict[dt.date, str] = {
        dt.date(year, 1, 1): "元日 (New Year's Day)",
        _nth_monday(year, 1, 2): "成人の日 (Coming of Age Day)",
        dt.date(year, 2, 11): "建国記念の日 (National Foundation Day)",
        dt.date(year, 2, 23): "天皇誕生日 (Emperor's Birthday)",
        vernal_equinox(year): "春分の日 (Vernal Equinox Day)",
        dt.date(year, 4, 29): "昭和の日 (Showa Day)",
        dt.date(year, 5, 3): "憲法記念日 (Constitution Memorial Day)",
        dt.date(year, 5, 4): "みどりの日 (Greenery Day)",
        dt.date(year, 5, 5): "こどもの日 (Children's Day)",
        _nth_monday(year, 7, 3): "海の日 (Marine Day)",
        dt.date(year, 8, 11): "山の日 (Mountain Day)",
        _nth_monday(year, 9, 3): "敬老の日 (Respect for the Aged Day)",
        autumnal_equinox(year): "秋分の日 (Autumnal Equinox Day)",
        _nth_monday(year, 10, 2): "スポーツの日 (Sports Day)",
        dt.date(year, 11, 3): "文化の日 (Culture Day)",
        dt.date(year, 11, 23): "勤労感謝の日 (Labour Thanksgiving Day)",
    }
    holidays = dict(named)
    # A day between two holidays is a holiday too (in practice: the Tuesday of some Septembers).
    for day in sorted(named):
        between = day + dt.timedelta(days=1)
        if between not in named and between + dt.timedelta(days=1) in named and between.weekday() != 6:
            holidays[between] = "国民の休日 (Citizens' Holiday)"
    # A holiday on a Sunday moves the day off to the next day that is not a holiday.
    for day in sorted(named):
        if day.weekday() == 6:
            substitute = day + dt.timedelta(days=1)
            while substitute in holidays:
                substitute += dt.timedelta(days=1)
            holidays[substitute] = "振替休日 (Substitute Holiday)"
    return sorted(holidays.items())
