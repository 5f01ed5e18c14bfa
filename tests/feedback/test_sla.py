"""Due times in business hours across nights, weekends and holidays, every one computed by hand.

The calendar is the seeded one: Monday to Friday 09:00–18:00 in Asia/Tokyo, Japanese public holidays.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from feedback.holidays import japanese_holidays
from feedback.sla import (
    BusinessCalendar,
    CalendarError,
    add_business_minutes,
    business_minutes_between,
    calendar_load,
    due_at,
    resume_due,
)

TOKYO = ZoneInfo("Asia/Tokyo")
WEEK = [(day, dt.time(9), dt.time(18)) for day in range(5)]
HOLIDAYS = [day for year in (2026, 2027) for day, _name in japanese_holidays(year)]


def at(y: int, m: int, d: int, h: int, mi: int = 0, tz: ZoneInfo = TOKYO) -> dt.datetime:
    return dt.datetime(y, m, d, h, mi, tzinfo=tz)


@pytest.fixture
def calendar() -> BusinessCalendar:
    return BusinessCalendar.build(hours=WEEK, holidays=HOLIDAYS, tz="Asia/Tokyo")


@pytest.mark.parametrize(
    ("start", "minutes", "expected", "why"),
    [
        (at(2026, 11, 25, 10), 120, at(2026, 11, 25, 12), "Wednesday morning: same day"),
        (at(2026, 11, 25, 16), 120, at(2026, 11, 25, 18), "uses up the day exactly: due at closing time"),
        (at(2026, 11, 25, 17), 120, at(2026, 11, 26, 10), "one hour tonight, one tomorrow morning"),
        (at(2026, 11, 25, 7), 60, at(2026, 11, 25, 10), "before opening: the clock starts at 09:00"),
        (at(2026, 11, 25, 20), 60, at(2026, 11, 26, 10), "after closing: the clock starts tomorrow"),
        (at(2026, 11, 27, 17, 30), 120, at(2026, 11, 30, 10, 30), "Friday evening: half an hour, then Monday"),
        (at(2026, 11, 28, 12), 60, at(2026, 11, 30, 10), "Saturday: nothing counts until Monday"),
        (at(2026, 11, 25, 10), 5 * 9 * 60, at(2026, 12, 2, 10), "five business days: a week later"),
        (at(2026, 1, 9, 17, 30), 120, at(2026, 1, 13, 10, 30), "Friday, then Monday is Coming of Age Day"),
        (at(2026, 5, 1, 17), 120, at(2026, 5, 7, 10), "Golden Week: 2–6 May off (6 May is a substitute holiday)"),
        (at(2026, 9, 18, 17), 120, at(2026, 9, 24, 10), "Silver Week: 21, 22 (citizens' holiday) and 23 September"),
        (at(2026, 12, 31, 17), 120, at(2027, 1, 4, 10), "New Year's Day 2027 is a Friday"),
    ],
)
def test_business_minutes_skip_nights_weekends_and_holidays(calendar, start, minutes, expected, why):
    assert add_business_minutes(start, minutes, calendar) == expected, why


def test_a_start_given_in_utc_counts_in_the_business_time_zone(calendar):
    # 00:30 UTC is 09:30 in Tokyo, on Wednesday 25 November 2026
    start = dt.datetime(2026, 11, 25, 0, 30, tzinfo=dt.UTC)
    assert add_business_minutes(start, 60, calendar) == at(2026, 11, 25, 10, 30)


def test_a_day_with_a_lunch_break_has_two_intervals():
    calendar = BusinessCalendar.build(
        hours=[(2, dt.time(9), dt.time(12)), (2, dt.time(13), dt.time(18))], tz="Asia/Tokyo"
    )
    assert add_business_minutes(at(2026, 11, 25, 11, 30), 60, calendar) == at(2026, 11, 25, 13, 30)


def test_across_a_daylight_saving_change_local_opening_hours_hold():
    new_york = ZoneInfo("America/New_York")
    calendar = BusinessCalendar.build(hours=WEEK, tz=new_york)
    # Friday 6 March 2026 17:00 EST; clocks go forward on Sunday 8 March; Monday 10:00 is EDT.
    due = add_business_minutes(at(2026, 3, 6, 17, tz=new_york), 120, calendar)
    assert due == at(2026, 3, 9, 10, tz=new_york)
    assert due.utcoffset() == dt.timedelta(hours=-4)


def test_zero_minutes_is_the_start_and_no_hours_is_an_error(calendar):
    assert add_business_minutes(at(2026, 11, 28, 12), 0, calendar) == at(2026, 11, 28, 12)
    with pytest.raises(CalendarError):
        add_business_minutes(at(2026, 11, 25, 10), 60, BusinessCalendar.build(hours=[], tz="Asia/Tokyo"))


def test_calendar_hours_count_nights_and_weekends(calendar):
    assert due_at(at(2026, 11, 27, 23), 8 * 60, business_hours=False, calendar=calendar) == at(2026, 11, 28, 7)


@pytest.mark.parametrize(
    ("start", "end", "minutes"),
    [
        (at(2026, 11, 27, 17), at(2026, 11, 30, 10), 120),  # Friday 17:00 to Monday 10:00
        (at(2026, 11, 25, 20), at(2026, 11, 26, 8), 0),  # a night
        (at(2026, 11, 25, 10), at(2026, 11, 25, 9), 0),  # backwards
        (at(2026, 5, 1, 9), at(2026, 5, 8, 9), 2 * 9 * 60),  # Golden Week: Friday 1 and Thursday 7 May
    ],
)
def test_business_minutes_between(calendar, start, end, minutes):
    assert business_minutes_between(start, end, calendar) == minutes


def test_a_stopped_clock_moves_the_deadline_by_the_business_time_it_stood_still(calendar):
    # Due Thursday 12:00; stopped Wednesday 17:00 with 4 business hours left (1 on Wednesday, 3 on Thursday);
    # started again Friday 09:00: due Friday 13:00.
    due = resume_due(
        at(2026, 11, 26, 12),
        paused_at=at(2026, 11, 25, 17),
        resumed_at=at(2026, 11, 27, 9),
        business_hours=True,
        calendar=calendar,
    )
    assert due == at(2026, 11, 27, 13)


def test_a_deadline_passed_before_the_clock_stopped_stays(calendar):
    passed = at(2026, 11, 25, 12)
    assert (
        resume_due(
            passed,
            paused_at=at(2026, 11, 25, 15),
            resumed_at=at(2026, 11, 27, 9),
            business_hours=True,
            calendar=calendar,
        )
        == passed
    )


def test_calendar_hours_resume_by_the_time_that_was_left(calendar):
    due = resume_due(
        at(2026, 11, 25, 12),
        paused_at=at(2026, 11, 25, 10),
        resumed_at=at(2026, 11, 28, 10),
        business_hours=False,
        calendar=calendar,
    )
    assert due == at(2026, 11, 28, 12)


# --- The holidays -----------------------------------------------------------------------------------


def test_japanese_holidays_2025_and_2026_match_the_cabinet_office_list():
    expected_2025 = [
        "01-01", "01-13", "02-11", "02-23", "02-24", "03-20", "04-29", "05-03", "05-04", "05-05", "05-06",
        "07-21", "08-11", "09-15", "09-23", "10-13", "11-03", "11-23", "11-24",
    ]  # fmt: skip
    expected_2026 = [
        "01-01", "01-12", "02-11", "02-23", "03-20", "04-29", "05-03", "05-04", "05-05", "05-06",
        "07-20", "08-11", "09-21", "09-22", "09-23", "10-12", "11-03", "11-23",
    ]  # fmt: skip
    assert [d.strftime("%m-%d") for d, _n in japanese_holidays(2025)] == expected_2025
    assert [d.strftime("%m-%d") for d, _n in japanese_holidays(2026)] == expected_2026
    names = dict(japanese_holidays(2026))
    assert names[dt.date(2026, 9, 22)].startswith("国民の休日")
    assert names[dt.date(2026, 5, 6)].startswith("振替休日")


@pytest.mark.django_db
def test_the_seeded_calendar_is_the_working_week_and_japans_holidays():
    calendar = calendar_load()
    assert calendar.tz == ZoneInfo("Asia/Tokyo")
    assert calendar.hours[0] == ((dt.time(9), dt.time(18)),) and 5 not in calendar.hours
    assert dt.date(2026, 9, 22) in calendar.holidays and dt.date(2030, 11, 4) in calendar.holidays
    assert add_business_minutes(at(2026, 5, 1, 17), 120, calendar) == at(2026, 5, 7, 10)


@pytest.mark.django_db
def test_holidays_of_later_years_are_added_by_a_command():
    from django.core.management import call_command

    from feedback.models import Holiday

    call_command("holidays_add_japanese", "2031")
    assert Holiday.objects.filter(date__year=2031).count() == len(japanese_holidays(2031))
    call_command("holidays_add_japanese", "2031")  # twice changes nothing
    assert Holiday.objects.filter(date__year=2031).count() == len(japanese_holidays(2031))
