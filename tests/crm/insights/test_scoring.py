"""RFM scoring (crm/insights/scoring.py) against hand-made purchases, with the quintiles and segments worked out
by hand."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import connections

from crm.insights.models import CustomerScore, Segment
from crm.insights.scoring import SEGMENT_DEFINITIONS, quintile, scores_refresh, scores_refresh_python, segment_for
from crm.insights.tasks import scores_refresh_task
from tests.factories import CustomerFactory, purchase_record, return_record, touchpoint_create

TOKYO = ZoneInfo("Asia/Tokyo")
NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=TOKYO)
pytestmark = pytest.mark.django_db


def days_ago(days: int, hour: int = 12) -> dt.datetime:
    return (NOW - dt.timedelta(days=days)).replace(hour=hour)


@pytest.fixture
def shop():
    """Five buyers, one whose purchase was returned, one who never bought.

    recency: D 200, C 40, B 10, E 10, A 1 → RANK (oldest first) D 1, C 2, B/E 3, A 5 → R: D 1, C 2, B/E 3, A 5
    frequency: B/D/E 1, C 2, A 3 → RANK 1, 4, 5 → F: B/D/E 1, C 4, A 5
    monetary: E 1,000, C 4,000, B 5,000, A 30,000, D 50,000 → M 1, 2, 3, 4, 5
    FM = (F + M + 1) // 2: A 5, B 2, C 3, D 3, E 1
    segments: A R5 FM5 champions; B R3 FM2 about to sleep; C R2 FM3 at risk; D R1 FM3 at risk; E R3 FM1 about to sleep
    """
    c = {name: CustomerFactory(family_name=name) for name in "ABCDEFG"}
    for days in (30, 5, 1):
        purchase_record(c["A"], Decimal("10000"), occurred_at=days_ago(days))
    purchase_record(c["B"], Decimal("5000"), occurred_at=days_ago(10))
    purchase_record(c["C"], Decimal("2000"), occurred_at=days_ago(90))
    purchase_record(c["C"], Decimal("2000"), occurred_at=days_ago(40))
    purchase_record(c["D"], Decimal("50000"), occurred_at=days_ago(200))
    purchase_record(c["E"], Decimal("1000"), occurred_at=days_ago(10, hour=20))
    purchase_record(c["F"], Decimal("3000"), order_reference="F-1", occurred_at=days_ago(20))
    return_record(c["F"], "F-1", amount=Decimal("3000"), occurred_at=days_ago(15))
    touchpoint_create(c["G"], "research", occurred_at=days_ago(3))
    return c


def scores() -> dict[str, tuple]:
    return {
        s.customer.family_name: (s.recency_days, s.frequency, s.monetary, s.rfm, s.segment)
        for s in CustomerScore.objects.select_related("customer")
    }


EXPECTED = {
    "A": (1, 3, Decimal("30000.00"), "554", Segment.CHAMPIONS),
    "B": (10, 1, Decimal("5000.00"), "313", Segment.ABOUT_TO_SLEEP),
    "C": (40, 2, Decimal("4000.00"), "242", Segment.AT_RISK),
    "D": (200, 1, Decimal("50000.00"), "115", Segment.AT_RISK),
    "E": (10, 1, Decimal("1000.00"), "311", Segment.ABOUT_TO_SLEEP),
}


def test_scores_refresh_scores_the_hand_made_shop(shop):
    result = scores_refresh(now=NOW)

    assert scores() == EXPECTED
    assert (result.scored, result.written, result.deleted, result.skipped) == (5, 5, 0, False)
    a = CustomerScore.objects.get(customer=shop["A"])
    assert a.last_purchase_at == days_ago(1)
    assert a.previous_r_score is None and a.previous_segment == ""
    assert a.segment_since == NOW and a.scored_at == NOW


def test_python_path_gives_the_same_rows_as_the_sql(shop):
    scores_refresh(now=NOW)
    sql_rows = list(CustomerScore.objects.order_by("customer").values())
    CustomerScore.objects.all().delete()

    scores_refresh_python(now=NOW)

    assert list(CustomerScore.objects.order_by("customer").values()) == sql_rows


def test_fully_returned_purchases_and_non_buyers_get_no_score_and_stale_rows_go(shop):
    scores_refresh(now=NOW)
    assert not CustomerScore.objects.filter(customer__in=[shop["F"], shop["G"]]).exists()

    return_record(shop["B"], "", amount=Decimal("5000"), occurred_at=days_ago(2))  # B returns everything
    result = scores_refresh(now=NOW)

    assert result.deleted == 1
    assert not CustomerScore.objects.filter(customer=shop["B"]).exists()
    assert CustomerScore.objects.count() == 4


def test_partial_return_lowers_net_spend(shop):
    return_record(shop["A"], "", amount=Decimal("2500"), occurred_at=days_ago(2))

    scores_refresh(now=NOW)

    a = CustomerScore.objects.get(customer=shop["A"])
    assert (a.frequency, a.monetary) == (3, Decimal("27500.00"))


@pytest.mark.parametrize(
    ("hour", "minute", "expected"),
    [(0, 30, (1, 0)), (23, 50, (1, 0))],
)
def test_recency_counts_days_in_the_business_time_zone(hour, minute, expected):
    """23:30 yesterday in Tokyo is 1 day ago and 00:10 today is 0, at 00:30 and at 23:50 (15:00 UTC is midnight)."""
    late, early = CustomerFactory(family_name="late"), CustomerFactory(family_name="early")
    now = dt.datetime(2026, 3, 10, hour, minute, tzinfo=TOKYO)
    purchase_record(late, Decimal("100"), occurred_at=dt.datetime(2026, 3, 9, 23, 30, tzinfo=TOKYO))
    purchase_record(early, Decimal("100"), occurred_at=dt.datetime(2026, 3, 10, 0, 10, tzinfo=TOKYO))

    for refresh in (scores_refresh, scores_refresh_python):
        CustomerScore.objects.all().delete()
        refresh(now=now)
        got = tuple(CustomerScore.objects.get(customer=c).recency_days for c in (late, early))
        assert got == expected


def test_ties_get_equal_scores():
    """Eight customers who bought once and two who bought twice: the eight share F 1, the two F 5 (rank 9 of 10)."""
    once = [CustomerFactory() for _ in range(8)]
    twice = [CustomerFactory() for _ in range(2)]
    for c in once + twice:
        purchase_record(c, Decimal("1000"), occurred_at=days_ago(5))
    for c in twice:
        purchase_record(c, Decimal("1000"), occurred_at=days_ago(6))

    scores_refresh(now=NOW)

    f = {s.customer_id: s.f_score for s in CustomerScore.objects.all()}
    assert {f[c.pk] for c in once} == {1}
    assert {f[c.pk] for c in twice} == {quintile(9, 10)} == {5}
    assert set(CustomerScore.objects.values_list("r_score", flat=True)) == {1}  # all bought within two days
    m = {s.customer_id: s.m_score for s in CustomerScore.objects.all()}
    assert {m[c.pk] for c in once} == {1} and {m[c.pk] for c in twice} == {5}


def test_segment_grid_covers_every_score():
    names = {segment_for(r, f, m) for r in range(1, 6) for f in range(1, 6) for m in range(1, 6)}
    assert names == set(Segment)
    assert [segment for segment, _text in SEGMENT_DEFINITIONS] == list(Segment)
    assert segment_for(5, 5, 5) == Segment.CHAMPIONS and segment_for(1, 1, 1) == Segment.LOST
    assert segment_for(1, 5, 5) == Segment.CANT_LOSE and segment_for(5, 1, 1) == Segment.NEW


def test_scoring_twice_the_same_day_changes_nothing(shop):
    scores_refresh(now=NOW)
    before = list(CustomerScore.objects.order_by("customer").values())

    result = scores_refresh(now=NOW + dt.timedelta(hours=3))
    python = scores_refresh_python(now=NOW + dt.timedelta(hours=3))

    assert result.written == 0 and python.written == 0
    assert list(CustomerScore.objects.order_by("customer").values()) == before


@pytest.mark.parametrize("refresh", [scores_refresh, scores_refresh_python])
def test_previous_scores_and_segment_since_follow_the_days(shop, refresh):
    refresh(now=NOW)
    day2 = NOW + dt.timedelta(days=1)
    purchase_record(shop["D"], Decimal("1000"), occurred_at=day2 - dt.timedelta(hours=1))  # D comes back

    refresh(now=day2)
    refresh(now=day2 + dt.timedelta(hours=1))  # a second run the same day keeps day 1 as "previous"

    d = CustomerScore.objects.get(customer=shop["D"])
    assert (d.previous_r_score, d.previous_segment) == (1, Segment.AT_RISK)
    assert d.r_score == 5 and d.segment != Segment.AT_RISK
    assert d.segment_since == day2
    c = CustomerScore.objects.get(customer=shop["C"])  # slips from R 2 to R 1, still at risk
    assert (c.previous_r_score, c.previous_segment, c.segment_since) == (2, Segment.AT_RISK, NOW)
    assert (c.r_score, c.segment, c.scored_at) == (1, Segment.AT_RISK, day2)


def test_scores_refresh_task_is_idempotent(shop):
    first = scores_refresh_task.apply().get()
    rows = list(CustomerScore.objects.order_by("customer").values())

    second = scores_refresh_task.apply().get()

    assert (first["scored"], first["written"]) == (5, 5)
    assert (second["scored"], second["written"], second["deleted"]) == (5, 0, 0)
    assert list(CustomerScore.objects.order_by("customer").values()) == rows


def test_a_second_run_while_one_holds_the_lock_does_nothing(shop):
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute("SELECT pg_advisory_xact_lock(7207001)")
            result = scores_refresh(now=NOW)
            cursor.execute("ROLLBACK")
    finally:
        other.close()

    assert result.skipped and not CustomerScore.objects.exists()
    assert scores_refresh(now=NOW).scored == 5


def test_management_command_scores(shop, capsys):
    call_command("scores_refresh")

    assert CustomerScore.objects.count() == 5
    assert "5 customers scored" in capsys.readouterr().out


def test_the_nightly_job_is_in_the_beat_schedule():
    from crm.celery import app

    (entry,) = [e for e in app.conf.beat_schedule.values() if e["task"] == "crm.insights.tasks.scores_refresh_task"]
    assert (entry["schedule"].hour, entry["schedule"].minute) == ({17}, {10})  # 02:10 in Tokyo
