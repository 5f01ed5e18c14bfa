"""Each insights figure against the hand-computed dataset of tests/crm/insights/conftest.py (see its docstring)."""

from __future__ import annotations

import datetime as dt

import pytest

from crm.insights import metrics, rollups
from crm.insights.metrics import FIGURES, Period

pytestmark = pytest.mark.django_db

ALL = metrics.SECTIONS


@pytest.fixture
def built(insights_data):
    rollups.refresh()  # the first refresh rebuilds
    return insights_data


def test_period_arithmetic():
    june = Period(dt.date(2026, 6, 1), dt.date(2026, 6, 30))
    assert june.days == 30
    assert june.previous() == Period(dt.date(2026, 5, 2), dt.date(2026, 5, 31))
    assert Period.last_days(30, today=dt.date(2026, 6, 30)) == june
    with pytest.raises(ValueError):
        Period(dt.date(2026, 6, 2), dt.date(2026, 6, 1))


def test_every_figure_of_the_period_and_the_previous_one(built):
    board = metrics.dashboard(built.june, sections=ALL, today=built.today)
    assert board.previous == built.may
    assert board.lapse_days == 30
    assert {k: f.value for k, f in board.figures.items()} == built.june_figures
    previous = {k: f.previous for k, f in board.figures.items() if k not in ("open_tickets", "clv_predicted")}
    assert previous == built.may_figures
    assert board.figures["clv_predicted"].previous is None  # nobody live a year before May either
    assert board.figures["open_tickets"].previous is None
    assert board.figures["new_customers"].change == 1
    assert board.figures["new_customers"].change_percent == 100.0
    assert board.figures["revenue"].change_percent is None  # from 0
    assert board.tiers == [("Regular", 2), ("Gold", 1)]


def test_figures_order_and_registry():
    assert [f.key for f in FIGURES] == list(metrics.FIGURES_BY_KEY)
    assert {f.section for f in FIGURES} == set(metrics.SECTIONS)
    for f in FIGURES:
        assert str(f.definition) and str(f.label)


def test_an_empty_period_gives_zeros_and_nones(built):
    board = metrics.dashboard(built.empty, sections=ALL, today=built.today)
    values = {k: f.value for k, f in board.figures.items()}
    assert values["new_customers"] == 0
    assert values["active_customers"] == 0
    assert values["orders"] == 0
    assert values["revenue"] == 0
    for key in (
        "retention_rate",
        "churn_rate",
        "repeat_purchase_rate",
        "average_order_value",
        "clv_historical",
        "clv_predicted",
        "nps",
        "csat",
        "median_first_response",
        "sla_compliance",
        "active_member_share",
    ):
        assert values[key] is None, key
    assert values["loyalty_members"] == 0
    assert values["points_outstanding"] == 0


def test_nothing_built_yet_gives_zeros_and_nones(insights_data):
    board = metrics.dashboard(insights_data.june, sections=ALL, today=insights_data.today)
    assert board.figures["active_customers"].value == 0
    assert board.figures["churn_rate"].value is None


def test_predicted_lifetime_value():
    """The dataset has nobody live a year before June (None above): the formula on chosen totals."""
    year = {"sales": 29000, "orders": 6}
    edges = {"year_purchasers": 3, "year_churned": 1, "year_live": 4}
    # AOV 29,000 / 6 = 4,833.33; 2 purchases per purchaser a year; churn 1/4 -> 4 years: 38,666.67 -> 38,667.
    assert metrics.predicted_clv(year, edges) == 38667
    edges["year_churned"] = 0  # nobody churned: capped at 10 years
    assert metrics.predicted_clv(year, edges) == 96667
    edges["year_live"] = 0
    assert metrics.predicted_clv(year, edges) is None


def test_sections_limit_the_figures(built):
    board = metrics.dashboard(built.june, sections=["service"], today=built.today)
    assert {f.definition.section for f in board.figures.values()} == {"service"}
    assert set(board.series) == {"nps_csat"}
    assert board.tiers == []
    assert metrics.dashboard(built.june, sections=[], today=built.today).figures == {}


def test_the_dashboard_reads_rollups_in_few_queries(built, django_assert_max_num_queries):
    with django_assert_max_num_queries(10):
        board = metrics.dashboard(Period.last_days(365, today=built.today), sections=ALL, today=built.today)
    assert set(board.series) == {"activity", "revenue", "nps_csat", "points"}


def test_series(built):
    board = metrics.dashboard(built.june, sections=ALL, today=built.today)
    activity = board.series["activity"]
    assert len(activity.labels) == 30 and activity.labels[0] == "2026-06-01"
    assert sum(activity.datasets["new_customers"]) == 2
    assert activity.datasets["touchpoints"][0] == 1  # B's purchase at 00:30
    assert sum(board.series["revenue"].datasets["revenue"]) == 17000
    weekly = metrics.dashboard(Period(dt.date(2026, 1, 1), dt.date(2026, 6, 30)), sections=ALL, today=built.today)
    assert weekly.series["activity"].labels[0] == "2025-12-29"  # weeks start on Monday
    assert sum(weekly.series["revenue"].datasets["orders"]) == 6


def test_cohorts(built):
    found = metrics.cohorts(end=built.today)
    assert found.months[0] == dt.date(2025, 7, 1) and found.months[-1] == dt.date(2026, 6, 1)
    rows = {r.month: r for r in found.rows}
    january = rows[dt.date(2026, 1, 1)]
    assert january.size == 1
    assert january.counts == [1, 0, 0, 0, 0, 1] + [None] * 6
    assert january.shares[:6] == [100.0, 0.0, 0.0, 0.0, 0.0, 100.0]
    june = rows[dt.date(2026, 6, 1)]
    assert june.counts == [2] + [None] * 11
    assert rows[dt.date(2025, 7, 1)].size == 0
    assert rows[dt.date(2025, 7, 1)].shares[0] is None


def test_cohorts_in_one_query(built, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):
        metrics.cohorts(end=built.today)


@pytest.mark.parametrize(
    "key, period, expected",
    [
        ("new_customers", "june", {"C", "F"}),
        ("active_customers", "june", {"A", "B", "C", "E"}),
        ("active_customers", "may", {"B", "E", "G"}),
        ("purchasers", "june", {"A", "B", "C"}),
        ("repeat_purchase_rate", "june", {"A", "C"}),
        ("lapsed_customers", "june", {"E", "G"}),
        ("lapsed_customers", "may", {"A", "D"}),
        ("loyalty_members", "june", {"A", "B", "C"}),
        ("loyalty_members", "may", {"A", "B"}),
        ("active_customers", "empty", set()),
    ],
)
def test_customers_behind_a_figure(built, key, period, expected):
    found = metrics.customers_behind(key, getattr(built, period), today=built.today)
    names = {name for name, c in built.customers.items() if c.pk in set(found.values_list("pk", flat=True))}
    assert names == expected
    ids = list(found.values_list("pk", flat=True))
    assert ids == sorted(ids, reverse=True)


def test_drill_down_agrees_with_the_figure(built):
    board = metrics.dashboard(built.june, sections=ALL, today=built.today)
    for f in FIGURES:
        # Counts of customers; orders and open tickets count orders and tickets, not their customers.
        if f.unit == "count" and f.key not in metrics.SAME_CUSTOMERS and f.key not in ("orders", "open_tickets"):
            assert metrics.customers_behind(f.key, built.june, today=built.today).count() == board.figures[f.key].value


def test_unknown_figures_raise_key_error(built):
    with pytest.raises(KeyError):
        metrics.customers_behind("no-such-figure", built.june)


@pytest.mark.parametrize("f", FIGURES, ids=lambda f: f.key)
def test_every_figure_links_to_the_customers_it_is_computed_over(built, f):
    found = set(metrics.customers_behind(f.key, built.june, today=built.today).values_list("pk", flat=True))
    same = metrics.SAME_CUSTOMERS.get(f.key)
    if same:
        assert found == set(metrics.customers_behind(same, built.june, today=built.today).values_list("pk", flat=True))
    board = metrics.dashboard(built.june, sections=ALL, today=built.today)
    value = board.figures[f.key].value
    if f.key in ("revenue", "orders", "average_order_value", "nps", "csat", "points_issued", "points_redeemed"):
        assert bool(found) == bool(value), f"{f.key}: {value} but customers {found}"


def test_retained_and_lapsed_customers_make_up_those_live_at_the_start(built):
    retained = set(metrics.customers_behind("retention_rate", built.june, today=built.today))
    lapsed = set(metrics.customers_behind("churn_rate", built.june, today=built.today))
    board = metrics.dashboard(built.june, sections=ALL, today=built.today)
    assert not retained & lapsed
    assert retained and lapsed  # June has both (see the dataset: retention 33.3 %)
    assert round(100 * len(retained) / len(retained | lapsed), 1) == board.figures["retention_rate"].value


def test_sections_for(manager, support, marketing):
    assert metrics.sections_for(manager) == ["overview", "customers", "revenue", "service", "loyalty"]
    assert metrics.sections_for(support) == ["overview", "service"]
    assert metrics.sections_for(marketing) == ["overview", "customers", "loyalty"]


def test_the_same_definitions_as_feedback_figures(built):
    from feedback.figures import feedback_figures

    start, end = rollups.day_bounds(built.june.start, built.june.end)
    raw = feedback_figures(start=start, end=end)
    board = metrics.dashboard(built.june, sections=["service"], today=built.today)
    assert board.figures["nps"].value == raw.nps
    assert board.figures["csat"].value == raw.csat
    assert board.figures["median_first_response"].value == round(raw.median_first_response.total_seconds() / 3600, 1)


def test_long_periods_read_the_full_edges_and_agree_with_the_drill_down(built):
    half_year = Period(dt.date(2026, 1, 1), dt.date(2026, 6, 30))  # longer than rollups.SHORT days
    board = metrics.dashboard(half_year, sections=ALL, today=built.today)
    assert board.figures["active_customers"].value == 7 - 1  # everyone but F
    assert board.figures["purchasers"].value == 3
    assert board.figures["repeat_purchase_rate"].value == 66.7  # A (three purchases) and C (two)
    for key in ("active_customers", "purchasers", "new_customers", "lapsed_customers"):
        drilled = metrics.customers_behind(key, half_year, today=built.today).count()
        assert drilled == board.figures[key].value, key


@pytest.mark.parametrize(
    "day, expected",
    [(dt.date(2026, 6, 30), 3), (dt.date(2027, 1, 20), 3), (dt.date(2027, 6, 10), 1), (dt.date(2027, 6, 30), 0)],
)
def test_purchasers_of_the_365_days_up_to_a_day(built, day, expected):
    found = metrics._edge_counts(
        {"in": metrics._running_q(rollups.YEAR_IN, day), "out": metrics._running_q(rollups.YEAR_OUT, day)}
    )
    assert found["in"] - found["out"] == expected


@pytest.mark.parametrize(
    "day, expected",
    [(dt.date(2026, 6, 1), 3), (dt.date(2026, 5, 2), 2), (dt.date(2026, 7, 1), 4), (dt.date(2026, 1, 10), 0)],
)
def test_customers_live_on_a_day(built, day, expected):
    """Live = active in the 30 days before: 06-01 B, E, G; 05-02 A, D; 07-01 A, B, C, E; 01-10 nobody yet."""
    found = metrics._edge_counts(
        {"in": metrics._running_q(rollups.LIVE_IN, day), "out": metrics._running_q(rollups.LIVE_OUT, day)}
    )
    assert found["in"] - found["out"] == expected


@pytest.mark.parametrize(
    "end", [dt.date(2026, 6, 30), dt.date(2026, 5, 31), dt.date(2027, 1, 20), dt.date(2027, 6, 10)]
)
def test_a_year_reads_running_counts_that_agree_with_the_full_edges(built, end):
    year = Period(end - dt.timedelta(days=364), end)
    running = metrics._resolve(metrics._edge_counts(metrics._customer_requests("", year, 30, built.today)))
    exact = metrics._edge_counts(
        {
            "active": metrics._active_q(rollups.ACTIVITY, year.start, year.end),
            "purchasers": metrics._active_q(rollups.PURCHASE, year.start, year.end),
            "repeat": metrics._repeat_q(year.start, year.end),
            "ledger": metrics._active_q(rollups.LEDGER, year.start, year.end),
        }
    )
    assert {k: running[k] for k in exact} == exact
    for key in ("active_customers", "purchasers"):
        name = "active" if key == "active_customers" else key
        assert metrics.customers_behind(key, year, today=built.today).count() == running[name]


def test_a_year_of_figures(built):
    """2025-07-01..2026-06-30: everyone but F active (6); A, B, C purchased, A (3 purchases) and C (2) repeat."""
    board = metrics.dashboard(Period(dt.date(2025, 7, 1), dt.date(2026, 6, 30)), sections=ALL, today=built.today)
    assert board.figures["active_customers"].value == 6
    assert board.figures["purchasers"].value == 3
    assert board.figures["repeat_purchase_rate"].value == 66.7
    # A, B, C and D had entries; members: A, B, C at the end and D, who left during the year.
    assert board.figures["active_member_share"].value == 100.0


def test_predicted_lifetime_value_from_the_rollups(built):
    """Year to 2027-01-20 (from 2026-01-21): live at its start A (01-10), who lapsed (next touchpoint 04-20):
    yearly churn 100 %, lifetime 1 year; 5 orders (June) of 19,000 -> AOV 3,800; 3 purchasers -> 5/3 a year:
    3,800 × 5/3 × 1 = 6,333."""
    end = dt.date(2027, 1, 20)
    board = metrics.dashboard(Period(dt.date(2026, 12, 22), end), sections=["revenue"], today=end)
    assert board.figures["clv_predicted"].value == 6333


def test_the_figures_are_cached_until_the_next_refresh(built, django_assert_num_queries):
    from decimal import Decimal

    from tests.crm.insights.conftest import at, touch

    metrics.dashboard(built.june, sections=ALL, today=built.today, cached=True)
    with django_assert_num_queries(1):  # when the rollups were last refreshed
        again = metrics.dashboard(built.june, sections=ALL, today=built.today, cached=True)
    assert again.figures["orders"].value == 5
    touch(built.customers["D"], at(6, 29), "transaction", amount=Decimal(700))
    assert metrics.dashboard(built.june, sections=ALL, today=built.today, cached=True).figures["orders"].value == 5
    rollups.refresh()
    assert metrics.dashboard(built.june, sections=ALL, today=built.today, cached=True).figures["orders"].value == 6
    with django_assert_num_queries(5):  # not cached: every query, every time
        metrics.dashboard(built.june, sections=ALL, today=built.today)


def test_a_drill_down_shows_what_each_customer_counts_for(built, manager_client):
    from django.db.models import Sum
    from django.urls import reverse

    from touchpoints.models import Touchpoint

    purchasers = [built.customers[name] for name in ("A", "B", "C")]
    label, values = metrics.figure_values("revenue", built.june, [c.pk for c in purchasers])
    start, end = rollups.day_bounds(built.june.start, built.june.end)
    for customer in purchasers:
        bought = Touchpoint.objects.filter(
            customer=customer, type__kind="purchase", currency="JPY", occurred_at__gte=start, occurred_at__lt=end
        )
        total = bought.aggregate(total=Sum("amount"))["total"]
        orders = bought.count()
        assert values[customer.pk] == f"¥{total:,.0f} · {orders} order{'' if orders == 1 else 's'}"
    assert label == "Spent in the period"
    assert metrics.figure_values("new_customers", built.june, [purchasers[0].pk]) is None

    url = reverse("insights:figure_customers", args=["revenue"])
    body = manager_client.get(url, {"start": built.june.start, "end": built.june.end}).content.decode()
    assert '<th scope="col">Spent in the period</th>' in body and values[purchasers[0].pk] in body


def test_every_drill_down_value_is_text_for_every_customer(built):
    from django.utils import timezone

    from feedback.models import Survey

    ids = [c.pk for c in built.customers.values()]
    answered = Survey.objects.create(
        customer=built.customers["A"],
        kind="csat",
        score=4,
        comment="Kind  and\nquick " + "x" * 100,
        answered_at=timezone.make_aware(dt.datetime(2026, 6, 30, 20)),  # the latest of the period
    )
    for f in FIGURES:
        if f.drill:
            value = metrics.figure_values(f.key, built.june, ids)
            assert value is None or (isinstance(value[0], str) and all(isinstance(v, str) for v in value[1].values()))
    _label, csat = metrics.figure_values("csat", built.june, ids)
    assert csat[answered.customer_id].startswith("4 · Kind and quick xxx") and csat[answered.customer_id].endswith("…")


def test_each_figure_carries_its_drill_down_query_and_those_sharing_customers_share_it():
    for f in FIGURES:
        assert f.drill == (f.customers is not None), f.key
    for key, same in metrics.SAME_CUSTOMERS.items():
        assert metrics.FIGURES_BY_KEY[key].customers is metrics.FIGURES_BY_KEY[same].customers, key
