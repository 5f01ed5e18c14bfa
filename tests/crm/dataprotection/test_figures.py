"""An erasure leaves every dashboard figure, chart, cohort and RFM score as it was (the insights test dataset)."""

from __future__ import annotations

import datetime as dt

import pytest

from crm.dataprotection import services
from crm.insights import metrics, rollups
from crm.insights.metrics.figures import SECTIONS
from crm.insights.models import CustomerScore
from crm.insights.scoring import scores_refresh
from tests.crm.insights.conftest import insights_data  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 30, 12, tzinfo=dt.UTC)


def _board(data) -> dict:
    board = metrics.dashboard(data.june, sections=SECTIONS, today=data.today)
    cohorts = metrics.cohorts(end=data.today)
    return {
        "figures": {key: (f.value, f.previous) for key, f in board.figures.items()},
        "series": {name: (s.labels, s.datasets) for name, s in board.series.items()},
        "tiers": board.tiers,
        "cohorts": [(row.month, row.size, row.counts) for row in cohorts.rows],
        "scores": list(CustomerScore.objects.order_by("customer_id").values_list()),
    }


def test_erasing_customers_changes_no_dashboard_figure(insights_data, manager):  # noqa: F811
    # given: the dashboard over the dataset (every figure checked by hand in crm/insights' tests)
    rollups.rebuild()
    scores_refresh(now=NOW)
    before = _board(insights_data)
    assert before["figures"]["revenue"][0] == insights_data.june_figures["revenue"]
    assert len(before["figures"]) == len(insights_data.june_figures) and before["cohorts"] and before["tiers"]
    assert len(before["scores"]) == 3  # the RFM scores of the three buyers

    # when: two customers with purchases, tickets, answers and points are erased
    for name in ("A", "C"):
        customer = insights_data.customers[name]
        request = services.data_request_record(customer=customer, kind="erasure", received_via="email", by=manager)
        services.customer_erase(data_request=request, confirmation=str(customer.pk), by=manager)

    erased = insights_data.customers["A"]
    erased.refresh_from_db()
    assert erased.email == "" and erased.family_name == "[erased]"

    # then: the incremental refresh and a rebuild from scratch both give the same dashboard
    rollups.refresh()
    scores_refresh(now=NOW)
    assert _board(insights_data) == before
    rollups.rebuild()
    assert _board(insights_data) == before
