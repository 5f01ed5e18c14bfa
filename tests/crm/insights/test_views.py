"""The insights pages: the dashboard shows what crm/insights/metrics/ computes, in each figure's unit, for the chosen
period; the drill-downs list the customers behind a figure in a constant number of queries; the cohort table and
the page that explains the figures; the period form's rules."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from crm.insights import metrics, rollups
from crm.insights.forms import MAX_DAYS, CohortForm, PeriodForm
from crm.insights.templatetags.insights_tags import format_change, format_value, heat_class
from tests.factories import CustomerFactory, TagFactory, UserFactory

pytestmark = pytest.mark.django_db

# Queries of the dashboard page besides metrics.dashboard(): the user, their permissions (their own and their
# groups', in one query), and the rollups' last refresh time. (The test settings keep sessions out of the database.)
PAGE_OVERHEAD = 3


@pytest.fixture
def figures_data(insights_data):
    """helper_a's hand-computed dataset (tests/crm/insights/conftest.py: June 2026), with the rollups built."""
    rollups.rebuild()
    return insights_data


def _query(period: metrics.Period) -> dict[str, str]:
    return {"start": period.start.isoformat(), "end": period.end.isoformat()}


def _card(body: str, key: str) -> str:
    match = re.search(rf'id="figure-{key}".*?(?=id="figure-|</section>)', body, re.S)
    assert match, key
    return match.group(0)


def _all_sections(user) -> list[str]:
    return metrics.sections_for(user)


# --- The dashboard --------------------------------------------------------------------------------


def test_the_dashboard_shows_each_figure_as_metrics_computes_it(manager_client, manager, figures_data):
    # given: the figures of June 2026, computed by crm/insights/metrics/ (and by hand in tests/crm/insights/conftest.py)
    today = timezone.localdate()
    period = figures_data.june
    expected = metrics.dashboard(period, sections=_all_sections(manager), today=today)

    # when: the manager opens the dashboard for June
    response = manager_client.get(reverse("home"), _query(period))
    body = response.content.decode()

    # then: every figure's card shows its value, the previous period's and the change, in its unit
    assert response.status_code == 200
    assert set(expected.figures) == {f.key for f in metrics.FIGURES}
    for key, figure in expected.figures.items():
        card = _card(body, key)
        unit = figure.definition.unit
        assert format_value(figure.value, unit) in card, key
        assert format_value(figure.previous, unit) in card, key
        assert format_change(figure.change, unit) in card, key
        drill_url = reverse("insights:figure_customers", args=[key])
        assert (drill_url in card) == figure.definition.drill, key
    # and: the hand-computed June figures, as a manager reads them
    for key, text in {
        "new_customers": "2",
        "active_customers": "4",
        "churn_rate": "66.7%",
        "revenue": "¥17,000",
        "average_order_value": "¥3,800",
        "nps": "25.0",
        "median_first_response": "4.0 h",
        "points_outstanding": "240",
    }.items():
        assert re.search(rf'figure-value">(<a [^>]*>)?{re.escape(text)}<', _card(body, key)), key
    assert "▲" in _card(body, "revenue") and "text-success" in _card(body, "revenue")  # ¥0 in May, ¥17,000 now
    assert "▼" in _card(body, "churn_rate") and "text-success" in _card(body, "churn_rate")  # 100 % -> 66.7 %
    # and: the welcome, the period and the comparison
    assert "Welcome" in body
    assert response.context["board"].period == period
    assert response.context["board"].previous == period.previous()


def test_changing_the_range_changes_the_period_and_the_links(manager_client, figures_data):
    today = timezone.localdate()
    response = manager_client.get(reverse("home"), {"range": "7"})
    period = metrics.Period.last_days(7, today=today)
    assert response.context["board"].period == period
    assert response.context["selected"] == "7"
    body = response.content.decode()
    assert f"start={period.start.isoformat()}&amp;end={period.end.isoformat()}" in body

    start, end = today - dt.timedelta(days=60), today - dt.timedelta(days=40)
    response = manager_client.get(reverse("home"), {"range": "custom", "start": start, "end": end})
    assert response.context["board"].period == metrics.Period(start=start, end=end)
    assert response.context["board"].previous == metrics.Period(start=start, end=end).previous()


def test_an_invalid_range_says_why_and_shows_the_last_30_days(manager_client):
    today = timezone.localdate()
    response = manager_client.get(
        reverse("home"), {"range": "custom", "start": today, "end": today + dt.timedelta(days=3)}
    )
    assert response.status_code == 200
    assert response.context["board"].period == metrics.Period.last_days(30, today=today)
    body = response.content.decode()
    assert 'id="period-errors"' in body
    # what was typed stays in the fields, to be corrected
    assert f'value="{today + dt.timedelta(days=3)}"' in body and f'value="{today}"' in body


def test_the_dashboard_runs_the_same_queries_for_any_period_and_at_most_ten_for_the_figures(
    manager_client, manager, figures_data
):
    today = timezone.localdate()
    counts = []
    for params, period in [
        (_query(figures_data.june), figures_data.june),
        (_query(figures_data.empty), figures_data.empty),
        ({"range": "365"}, metrics.Period.last_days(365, today=today)),
        ({"range": "last_month"}, None),
    ]:
        if period is not None:
            with CaptureQueriesContext(connection) as figures:
                metrics.dashboard(period, sections=_all_sections(manager), today=today)
            assert len(figures) <= 10
        with CaptureQueriesContext(connection) as page:
            assert manager_client.get(reverse("home"), params).status_code == 200
        counts.append(len(page))
        assert len(page) <= 10 + PAGE_OVERHEAD, [q["sql"][:120] for q in page.captured_queries]
    assert len(set(counts)) == 1, counts


def test_the_charts_come_with_their_numbers_in_tables_and_no_inline_script_or_style(manager_client):
    body = manager_client.get(reverse("home")).content.decode()
    assert 'id="insights-charts" type="application/json"' in body
    assert 'id="chart-activity"' in body and 'id="chart-activity-table"' in body
    assert " style=" not in body
    scripts = re.findall(r"<script(?P<attrs>[^>]*)>", body)
    assert all("src=" in attrs or 'type="application/json"' in attrs for attrs in scripts), scripts


def test_the_funnel_card_shows_the_funnel_of_the_period(marketing_client):
    today = timezone.localdate()
    period = metrics.Period.last_days(90, today=today)
    response = marketing_client.get(reverse("insights:funnel_card"), {"start": period.start, "end": period.end})
    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="chart-funnel-table"' in body and 'id="funnel-card-data"' in body
    assert response.context["funnel"].start == period.start and response.context["funnel"].end == period.end


def test_a_user_with_no_role_is_greeted_without_figures(client):
    client.force_login(UserFactory(username="newcomer", role=None))
    with CaptureQueriesContext(connection) as page:
        response = client.get(reverse("home"))
    assert response.status_code == 200
    assert "Welcome" in response.content.decode() and 'id="figure-' not in response.content.decode()
    assert len(page) <= PAGE_OVERHEAD


# --- Drill-down -----------------------------------------------------------------------------------


def _drill_url(key: str = "new_customers") -> str:
    period = metrics.Period.last_days(30)
    return reverse("insights:figure_customers", args=[key]) + f"?start={period.start}&end={period.end}"


def test_a_drill_down_lists_the_customers_behind_the_figure(manager_client):
    # given: customers new in the period
    customers = [CustomerFactory(family_name=f"Drill {i}") for i in range(3)]
    period = metrics.Period.last_days(30)
    expected = list(metrics.customers_behind("new_customers", period).values_list("pk", flat=True))

    # when: the manager opens the figure's customers
    response = manager_client.get(_drill_url())

    # then: the same customers, newest first, with a title naming the figure and the period
    assert response.status_code == 200
    shown = [c.pk for c in response.context["page"].rows]
    assert shown == expected[: len(shown)]
    assert {c.pk for c in customers} <= set(expected)
    title = re.search(r'id="drill-title">(.*?)</h1>', response.content.decode(), re.S).group(1)
    label = str(next(f.label for f in metrics.FIGURES if f.key == "new_customers"))
    assert label in title and period.start.strftime("%Y") in title


def test_a_drill_down_runs_the_same_queries_for_3_and_30_customers(manager_client):
    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert manager_client.get(_drill_url()).status_code == 200
        return len(captured)

    tag = TagFactory(name="vip")
    for _i in range(3):
        CustomerFactory().tags.add(tag)
    few = count()
    for _i in range(27):
        CustomerFactory().tags.add(tag)
    assert count() == few


def test_a_drill_down_pages_by_keyset(manager_client, settings):
    settings.TSUNAGU_PAGE_SIZE = 2
    customers = [CustomerFactory() for _i in range(3)]
    first = manager_client.get(_drill_url())
    page = first.context["page"]
    assert [c.pk for c in page.rows] == [customers[2].pk, customers[1].pk] and page.has_next
    second = manager_client.get(_drill_url() + f"&after={page.next_cursor}")
    assert [c.pk for c in second.context["page"].rows] == [customers[0].pk]


def test_markup_in_a_customers_name_is_shown_as_text_in_a_drill_down(manager_client):
    CustomerFactory(family_name="<script>alert(1)</script>", company='"><img src=x onerror=alert(2)>')
    body = manager_client.get(_drill_url()).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body and "<script>alert(1)" not in body
    assert "<img src=x" not in body


# --- Cohorts and the about page -------------------------------------------------------------------


def test_the_cohort_table_shows_metrics_cohorts_as_a_heat_map(marketing_client, figures_data):
    response = marketing_client.get(reverse("insights:cohorts"), {"end": "2026-06"})
    assert response.status_code == 200
    expected = metrics.cohorts(end=dt.date(2026, 6, 1), months=12)
    assert [r.size for r in expected.rows if r.size] == [1, 2]  # January and June 2026
    body = response.content.decode()
    assert len(response.context["cohorts"].rows) == len(expected.rows)
    for row in expected.rows:
        html = re.search(rf'data-cohort="{row.month:%Y-%m}">(.*?)</tr>', body, re.S).group(1)
        for share in row.shares:
            assert heat_class(share) in html
    assert " style=" not in body and 'id="chart-cohorts"' in body


def test_the_cohort_page_takes_an_end_month(marketing_client):
    response = marketing_client.get(reverse("insights:cohorts"), {"end": "2025-03"})
    assert response.context["end"] == dt.date(2025, 3, 1)
    future = (timezone.localdate().replace(day=1) + dt.timedelta(days=40)).strftime("%Y-%m")
    response = marketing_client.get(reverse("insights:cohorts"), {"end": future})
    assert response.context["end"] == timezone.localdate().replace(day=1)
    assert "Choose a month that has begun." in response.content.decode()


def test_the_about_page_explains_every_figure(support_client, settings):
    settings.TSUNAGU_LAPSE_DAYS = 120
    body = support_client.get(reverse("insights:about")).content.decode()
    for figure in metrics.FIGURES:
        assert f'id="figure-{figure.key}"' in body
        assert str(figure.label) in body
    assert "120 days without a touchpoint" in body


# --- Forms and formatting -------------------------------------------------------------------------

TODAY = dt.date(2026, 3, 15)


@pytest.mark.parametrize(
    ("data", "start", "end"),
    [
        ({}, dt.date(2026, 2, 14), TODAY),
        ({"range": "7"}, dt.date(2026, 3, 9), TODAY),
        ({"range": "90"}, TODAY - dt.timedelta(days=89), TODAY),
        ({"range": "365"}, TODAY - dt.timedelta(days=364), TODAY),
        ({"range": "this_month"}, dt.date(2026, 3, 1), TODAY),
        ({"range": "last_month"}, dt.date(2026, 2, 1), dt.date(2026, 2, 28)),
        ({"range": "custom", "start": "2025-12-01", "end": "2025-12-31"}, dt.date(2025, 12, 1), dt.date(2025, 12, 31)),
        ({"start": "2026-01-01", "end": "2026-01-01"}, dt.date(2026, 1, 1), dt.date(2026, 1, 1)),
    ],
)
def test_the_period_form_reads_presets_and_dates(data, start, end):
    form = PeriodForm(data, today=TODAY)
    assert form.is_valid(), form.errors
    assert form.period() == metrics.Period(start=start, end=end)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"range": "custom", "start": "2026-02-10", "end": "2026-02-01"}, "end", "The end comes before the start."),
        ({"range": "custom", "start": "2026-03-01", "end": "2026-03-16"}, "end", "cannot end in the future"),
        ({"range": "custom", "start": "2023-03-14", "end": "2026-03-14"}, "start", "at most three years"),
        ({"range": "custom", "start": "2026-03-01"}, "end", "Choose the last day."),
        ({"range": "custom"}, "start", "Choose the first day."),
        ({"range": "12"}, "range", "Select a valid choice"),
        ({"start": "yesterday", "end": "2026-03-01"}, "start", "Enter a valid date"),
        ({"start": "0001-01-01", "end": "0001-01-02"}, "start", "greater than or equal to 1900-01-01"),
    ],
)
def test_the_period_form_refuses_bad_periods(data, field, message):
    form = PeriodForm(data, today=TODAY)
    assert not form.is_valid()
    assert message in " ".join(form.errors[field])
    assert form.period() == metrics.Period(start=dt.date(2026, 2, 14), end=TODAY)


def test_three_years_is_the_longest_period():
    end = TODAY
    start = end - dt.timedelta(days=MAX_DAYS - 1)
    assert PeriodForm({"start": start, "end": end}, today=TODAY).is_valid()
    assert not PeriodForm({"start": start - dt.timedelta(days=1), "end": end}, today=TODAY).is_valid()


def test_the_cohort_form_refuses_months_not_yet_begun():
    assert CohortForm({"end": "2026-03"}, today=TODAY).end_month() == dt.date(2026, 3, 1)
    form = CohortForm({"end": "2026-04"}, today=TODAY)
    assert not form.is_valid() and form.end_month() == dt.date(2026, 3, 1)


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (None, "yen", "—"),
        (1234567, "yen", "¥1,234,567"),
        (12.345, "percent", "12.3%"),
        (1234, "count", "1,234"),
        (-20.0, "score", "-20.0"),
        (3.25, "hours", "3.2 h"),
        (1500, "points", "1,500"),
    ],
)
def test_figures_are_written_in_their_unit(value, unit, text):
    assert format_value(value, unit) == text


def test_changes_are_signed_and_shares_change_in_points():
    assert format_change(2.5, "percent") == "+2.5 pt"
    assert format_change(-1200, "yen") == "−¥1,200"
    assert format_change(0, "count") == "±0"
    assert format_change(None, "count") == "—"


def test_the_pages_say_when_the_figures_were_last_brought_up_to_date(manager_client):
    # given: rollups never built: nothing to say
    assert 'id="refreshed-at"' not in manager_client.get(reverse("home")).content.decode()
    # when: they are built
    rollups.rebuild()
    # then: the dashboard and the about page give the time
    response = manager_client.get(reverse("home"))
    assert response.context["refreshed_at"] is not None
    assert "Figures as of" in response.content.decode()
    assert "Last brought up to date" in manager_client.get(reverse("insights:about")).content.decode()
