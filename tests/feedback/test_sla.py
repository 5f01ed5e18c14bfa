"""Due times in business hours across nights, weekends and holidays, every one computed by hand.

The calendar is the seeded one: Monday to Friday 09:00–18:00 in Asia/Tokyo, Japanese public holidays.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command

from feedback.checks import holiday_country_check
from feedback.holidays import japanese_holidays
from feedback.models import Holiday
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
    call_command("holidays_add_japanese", "2031")
    assert Holiday.objects.filter(date__year=2031).count() == len(japanese_holidays(2031))
    call_command("holidays_add_japanese", "2031")  # twice changes nothing
    assert Holiday.objects.filter(date__year=2031).count() == len(japanese_holidays(2031))


def test_a_year_the_old_hand_written_rules_refused_comes_from_the_holidays_package():
    # 2021 moved three holidays for the Olympics; no rule computes that.
    names = dict(japanese_holidays(2021))
    assert names[dt.date(2021, 7, 22)] == "海の日" and names[dt.date(2021, 7, 23)] == "スポーツの日"
    assert names[dt.date(2021, 8, 8)] == "山の日" and names[dt.date(2021, 8, 9)].startswith("振替休日")
    assert dt.date(2021, 7, 19) not in names and dt.date(2021, 10, 11) not in names


def test_equinox_days_are_the_published_ones():
    vernal = {d for d, n in japanese_holidays(2027) if n == "春分の日"}
    autumnal = {d for d, n in japanese_holidays(2024) if n == "秋分の日"}
    assert vernal == {dt.date(2027, 3, 21)} and autumnal == {dt.date(2024, 9, 22)}


@pytest.mark.django_db
def test_the_calendar_reads_the_configured_countrys_holidays_and_keeps_those_staff_listed(settings):
    # 2032 is past the seeded table (2024–2030): these days come from the country's rules.
    Holiday.objects.create(date=dt.date(2032, 12, 29), name="Company closing")
    settings.TSUNAGU_HOLIDAY_COUNTRY = "JP"
    japan = calendar_load()
    assert dt.date(2032, 3, 20) in japan.holidays and dt.date(2032, 7, 5) not in japan.holidays
    assert dt.date(2032, 12, 29) in japan.holidays
    settings.TSUNAGU_HOLIDAY_COUNTRY = "US"
    us = calendar_load()
    assert dt.date(2032, 7, 5) in us.holidays and dt.date(2032, 3, 20) not in us.holidays
    assert dt.date(2032, 12, 29) in us.holidays
    # Independence Day 2026 is observed on Friday 3 July: two hours from Thursday 17:00 end on Monday.
    assert add_business_minutes(at(2026, 7, 2, 17), 120, us) == at(2026, 7, 6, 10)
    assert add_business_minutes(at(2026, 7, 2, 17), 120, japan) == at(2026, 7, 3, 10)
    settings.TSUNAGU_HOLIDAY_COUNTRY = ""
    assert dt.date(2032, 3, 20) not in calendar_load().holidays


def test_an_unknown_holiday_country_fails_the_system_check(settings):
    settings.TSUNAGU_HOLIDAY_COUNTRY = "US-CA"
    assert holiday_country_check(None) == []
    settings.TSUNAGU_HOLIDAY_COUNTRY = "XX"
    assert [e.id for e in holiday_country_check(None)] == ["feedback.E001"]
