"""The funnel's rollups: figures equal to a brute-force count over the transitions, kept in step by every
write of transitions (batch ingest, manual moves, merges), folded idempotently, equal to a rebuild."""

import datetime as dt
import random
import statistics
from collections import defaultdict

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from customers.services import customer_merge
from tests.factories import CustomerFactory
from touchpoints.funnel import (
    DAY,
    JOURNAL_FROM,
    MONTH,
    NEVER,
    duration_bucket,
    funnel_fold,
    funnel_rebuild,
    funnel_report,
    grain_next,
    grain_start,
    journal_fold,
    period_rows,
)
from touchpoints.models import (
    STAGE_ORDER,
    CustomerJourney,
    FunnelJournal,
    FunnelReach,
    FunnelStay,
    StageTransition,
    TouchpointType,
    stage_rank,
)
from touchpoints.services import TouchpointData, journey_stage_move, touchpoint_record_batch

pytestmark = pytest.mark.django_db

SLUGS = ["brand-exposure", "research", "product-selection", "transaction", "loyalty-activity"]
CHANNELS = ["web", "store", "email", "advertising", "social"]
SOURCES = ["web", "store", "referral", "event", "advertising"]


def _history(r: random.Random, customers: list, now: dt.datetime, batch: int = 40) -> None:
    """Random journeys over the last ~14 months, recorded in batches through the service, then a few manual
    moves (back and forward) and a merge. Batches of ``batch`` items: 40 count themselves in the rollups at once,
    a larger one leaves its transitions to the journal (JOURNAL_FROM)."""
    types = {t.slug: t for t in TouchpointType.objects.filter(slug__in=SLUGS)}
    items = []
    for customer in customers:
        at = now - dt.timedelta(days=r.uniform(20, 430))
        for _ in range(r.randint(1, 5)):
            items.append(
                TouchpointData(
                    customer_id=customer.pk,
                    touchpoint_type=types[r.choice(SLUGS)],
                    channel=r.choice(CHANNELS),
                    occurred_at=at,
                )
            )
            at += dt.timedelta(hours=r.choice([0, 1, 5, 30, 200, 900, 3000]) + r.random())
            at = min(at, now)
    r.shuffle(items)
    for start in range(0, len(items), batch):
        touchpoint_record_batch(items=items[start : start + batch])
    for customer in customers[:9]:
        current = CustomerJourney.objects.filter(customer=customer).values_list("stage", flat=True).first()
        wanted = STAGE_ORDER[:2] if customer in customers[:6] else ["retention"]
        stage = r.choice([s for s in wanted if s != current] or ["consideration"])
        journey_stage_move(customer=customer, to_stage=stage, reason="Moved by hand", by=None)
    customer_merge(primary=customers[10], duplicate=customers[11])
    # After the manual moves: one more wave of touchpoints, so some customers cross a stage a second time.
    later = [
        TouchpointData(customer_id=c.pk, touchpoint_type=types["transaction"], channel="store", occurred_at=now)
        for c in customers[:6]
    ]
    touchpoint_record_batch(items=later)


def _expected(start: dt.date, end: dt.date):
    """The definitions of touchpoints/funnel (its docstring), counted the slow way from every transition."""
    reached = defaultdict(lambda: [0] * 4)
    converted = defaultdict(lambda: [0] * 4)
    stays = defaultdict(list)
    rows = StageTransition.objects.order_by("customer_id", "at", "id").values_list(
        "customer_id", "customer__source", "from_stage", "to_stage", "channel", "at", "ended_at"
    )
    by_customer = defaultdict(list)
    for row in rows:
        by_customer[row[0]].append(row)
    for history in by_customer.values():
        first = {}
        for _c, source, from_stage, to_stage, channel, at, ended_at in history:
            day = timezone.localtime(at).date()
            for stage in range(stage_rank(from_stage) + 1, stage_rank(to_stage) + 1):
                first.setdefault(stage, (day, channel))
            if ended_at is not None and start <= day <= end:
                hours = (ended_at - at).total_seconds() / 3600
                for group in (("all", ""), ("source", source), ("channel", channel)):
                    stays[(*group, stage_rank(to_stage))].append(hours)
        for stage, (day, channel) in first.items():
            if start <= day <= end:
                nxt = first.get(stage + 1)
                for group in (("all", ""), ("source", source), ("channel", channel)):
                    reached[group][stage] += 1
                    if nxt and nxt[0] <= end:
                        converted[group][stage] += 1
    medians = {key: statistics.median(values) / 24 for key, values in stays.items()}
    return reached, converted, medians


def _assert_report_matches(start: dt.date, end: dt.date) -> None:
    report = funnel_report(start=start, end=end)
    reached, converted, medians = _expected(start, end)
    groups = [("all", "", report.overall)]
    groups += [("source", g.key, g) for g in report.by_source] + [("channel", g.key, g) for g in report.by_channel]
    seen = set()
    for kind, key, group in groups:
        seen.add((kind, key))
        assert [s.reached for s in group.stages] == reached[(kind, key)], (start, end, kind, key)
        assert [s.converted for s in group.stages[:-1]] == converted[(kind, key)][:-1], (start, end, kind, key)
        for rank, stage in enumerate(group.stages):
            exact = medians.get((kind, key, rank))
            if exact is None:
                assert stage.median_days is None
            else:  # buckets of one hour below a day, 3 % above: within 3 % (and the rounding to 0.1 day)
                assert abs(stage.median_days - exact) <= 0.03 * exact + 0.05 + 1 / 24, (kind, key, rank, exact)
    assert {g for g, counts in reached.items() if any(counts)} <= seen


def _rollups() -> tuple[dict, dict]:
    reach = {
        tuple(r[:-1]): r[-1]
        for r in FunnelReach.objects.values_list(
            "pending", "kind", "key", "stage", "day_grain", "day", "next_grain", "next_day", "n"
        )
    }
    stays = {
        tuple(r[:-2]): (r[-2], round(r[-1], 6))
        for r in FunnelStay.objects.values_list(
            "pending", "kind", "key", "stage", "day_grain", "day", "bucket", "n", "hours"
        )
    }
    return reach, stays


@pytest.fixture(params=[40, 1000], ids=["counted-at-once", "journal"])
def history(request):
    r = random.Random(7)
    customers = [CustomerFactory(source=r.choice(SOURCES)) for _ in range(40)]
    now = timezone.now().replace(microsecond=0)
    _history(r, customers, now, batch=request.param)
    journal_fold()  # what funnel_fold does first, within a minute of a large batch
    assert not FunnelJournal.objects.exists()
    return timezone.localdate()


def test_figures_equal_a_count_over_the_transitions_for_any_period(history):
    today = history
    periods = [
        (today - dt.timedelta(days=89), today),  # the default
        (today - dt.timedelta(days=364), today),  # a year: whole months and two edges
        (today.replace(day=1), today),  # this month so far
        ((today - dt.timedelta(days=200)).replace(day=1), (today - dt.timedelta(days=100)).replace(day=1)),
        (today - dt.timedelta(days=150), today - dt.timedelta(days=40)),  # ends before today
        (today - dt.timedelta(days=500), today - dt.timedelta(days=300)),
        (today - dt.timedelta(days=3), today - dt.timedelta(days=3)),  # one day
    ]
    for start, end in periods:
        _assert_report_matches(start, end)
    assert FunnelReach.objects.filter(pending=True).exists()  # the writes appended deltas ...
    funnel_fold()
    assert not FunnelReach.objects.filter(pending=True).exists() and not FunnelStay.objects.filter(pending=True)
    for start, end in periods:  # ... and the figures are the same once folded
        _assert_report_matches(start, end)


def test_incremental_rollups_equal_a_rebuild_and_folding_twice_changes_nothing(history):
    funnel_fold()
    folded = _rollups()
    assert funnel_fold() == 0
    assert _rollups() == folded
    assert all(n for n in folded[0].values()) and all(n for n, _h in folded[1].values())  # no empty rows left
    funnel_rebuild()
    assert _rollups() == folded


def test_a_customer_moved_back_by_hand_and_crossing_again_is_counted_once(history):
    customer = CustomerFactory(source="web")
    types = {t.slug: t for t in TouchpointType.objects.filter(slug__in=SLUGS)}
    now = timezone.now()
    touchpoint_record_batch(
        items=[TouchpointData(customer_id=customer.pk, touchpoint_type=types["research"], occurred_at=now)]
    )
    before = funnel_report(start=history, end=history)
    journey_stage_move(customer=customer, to_stage="awareness", reason="Back to the start", by=None)
    touchpoint_record_batch(
        items=[TouchpointData(customer_id=customer.pk, touchpoint_type=types["transaction"], occurred_at=now)]
    )
    after = funnel_report(start=history, end=history)
    assert [s.reached for s in after.overall.stages][:2] == [s.reached for s in before.overall.stages][:2]
    assert after.overall.stages[2].reached == before.overall.stages[2].reached + 1
    _assert_report_matches(history, history)


def test_a_large_batch_shows_in_the_funnel_once_folded_and_a_manual_move_counts_it_first():
    """A batch of JOURNAL_FROM transitions or more notes them in the journal (the customers' locks are not held
    while the rollups are worked out): the funnel shows them after funnel_fold. A manual move (or a merge) of such
    a customer in the meantime counts the journal's entries for that customer first, so nothing counts twice."""
    r = random.Random(11)
    customers = [CustomerFactory(source=r.choice(SOURCES)) for _ in range(JOURNAL_FROM + 10)]
    types = {t.slug: t for t in TouchpointType.objects.filter(slug__in=SLUGS)}
    now = timezone.now().replace(microsecond=0)
    today = timezone.localdate()
    before = funnel_report(start=today, end=today)
    research = [
        TouchpointData(customer_id=c.pk, touchpoint_type=types["research"], channel="web", occurred_at=now)
        for c in customers
    ]
    touchpoint_record_batch(items=research)
    assert FunnelJournal.objects.filter(closed=False).count() == len(customers)
    assert funnel_report(start=today, end=today).overall.stages[1].reached == before.overall.stages[1].reached
    journey_stage_move(customer=customers[0], to_stage="awareness", reason="Back to the start", by=None)
    assert not FunnelJournal.objects.filter(customer_id=customers[0].pk).exists()  # counted before the move
    purchases = [
        TouchpointData(customer_id=c.pk, touchpoint_type=types["transaction"], channel="store", occurred_at=now)
        for c in customers
    ]
    touchpoint_record_batch(items=purchases)  # closes the stays the first batch opened: both in the journal
    assert FunnelJournal.objects.filter(closed=True).count() == len(customers)
    funnel_fold()
    assert not FunnelJournal.objects.exists() and not FunnelReach.objects.filter(pending=True).exists()
    after = funnel_report(start=today, end=today)
    assert after.overall.stages[2].reached == before.overall.stages[2].reached + len(customers)
    _assert_report_matches(today, today)
    folded = _rollups()
    funnel_rebuild()
    assert _rollups() == folded


def test_the_report_runs_two_queries_whatever_the_period(history):
    for days in (1, 90, 365, 1000):
        with CaptureQueriesContext(connection) as queries:
            funnel_report(start=history - dt.timedelta(days=days - 1), end=history)
        assert len(queries) == 2


def test_period_rows_cover_each_day_of_the_period_once_with_few_rows():
    r = random.Random(3)
    for _ in range(400):
        start = dt.date(2024, 1, 1) + dt.timedelta(days=r.randint(0, 800))
        end = start + dt.timedelta(days=r.choice([0, 1, 9, 10, 27, 30, 31, 59, 89, 364, r.randint(0, 700)]))
        branches, last_month = period_rows(start, end)
        covered = []
        for grain, unit, last in branches:
            assert grain_start(unit, grain) == unit
            while unit <= last:
                following = grain_next(unit, grain)
                covered += [unit + dt.timedelta(days=i) for i in range((following - unit).days)]
                unit = following
        assert covered == [start + dt.timedelta(days=i) for i in range((end - start).days + 1)], (start, end)
        assert len(branches) <= 7 and last_month.day == 1 and last_month <= end + dt.timedelta(days=1)
        days_at_day_grain = sum((last - first).days + 1 for grain, first, last in branches if grain == DAY)
        assert days_at_day_grain <= 20  # at most 10 days at each edge


def test_duration_buckets_are_hours_then_three_percent():
    assert [duration_bucket(h) for h in (0, 0.99, 1, 23.99)] == [0, 0, 1, 23]
    assert duration_bucket(24) == 24 and duration_bucket(24 * 1.03 - 1e-9) == 24 and duration_bucket(24 * 1.031) == 25
    assert dt.date(2100, 1, 1) < NEVER and MONTH != DAY
