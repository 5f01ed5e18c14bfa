"""The insights' CSV exports: Excel-safe (BOM, CRLF, formulas neutralised), the same numbers as the pages, and
only for those allowed to export (RELIABILITY.md: exports run formulas in Excel; checks on view but not on
download)."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.insights import metrics
from crm.insights.exports import csv_text
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def _rows(response) -> list[list[str]]:
    raw = b"".join(response.streaming_content) if response.streaming else response.content
    assert raw.startswith("\ufeff".encode())
    text = raw.decode("utf-8")[1:]
    assert "\r\n" in text and "\n" not in text.replace("\r\n", "")
    return list(csv.reader(io.StringIO(text)))


def _period() -> metrics.Period:
    return metrics.Period.last_days(30, today=timezone.localdate())


def _query(period: metrics.Period) -> str:
    return f"?start={period.start}&end={period.end}"


def test_csv_cells_that_a_spreadsheet_would_run_are_kept_as_text():
    text = csv_text([["name", "n"], ["=1+2", 3], ["+81 3", 1.5], ["-x", None], ["@SUM(A1)", 0], ["\tx", -2]])
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert rows[1:] == [["'=1+2", "3"], ["'+81 3", "1.5"], ["'-x", ""], ["'@SUM(A1)", "0"], ["'\tx", "-2"]]
    assert text.startswith("\ufeff") and text.endswith("\r\n")


def test_the_dashboard_csv_has_the_dashboards_figures(manager_client, manager):
    period = _period()
    response = manager_client.get(reverse("insights:dashboard_export") + _query(period))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="dashboard-')
    rows = _rows(response)
    expected = metrics.dashboard(period, sections=metrics.sections_for(manager), today=timezone.localdate())
    assert rows[0][:6] == ["Figure", "Key", "Value", "Previous period", "Change", "Unit"]
    by_key = {row[1]: row for row in rows[1:]}
    assert set(by_key) == set(expected.figures)
    for key, figure in expected.figures.items():
        row = by_key[key]
        assert row[5] == figure.definition.unit
        assert row[6:] == [period.start.isoformat(), period.end.isoformat()]
        for cell, value in ((row[2], figure.value), (row[3], figure.previous), (row[4], figure.change)):
            assert (cell == "") == (value is None), key
            if value is not None:
                assert float(cell) == pytest.approx(float(value), abs=1e-4), key


def test_the_cohort_csv_has_the_cohort_table(manager_client):
    response = manager_client.get(reverse("insights:cohorts_export"), {"end": "2025-06"})
    assert response.status_code == 200
    rows = _rows(response)
    import datetime as dt

    expected = metrics.cohorts(end=dt.date(2025, 6, 1), months=12)
    assert rows[0][:3] == ["Cohort", "Customers", "Month 0"]
    assert [row[0] for row in rows[1:]] == [r.month.strftime("%Y-%m") for r in expected.rows]
    for row, cohort in zip(rows[1:], expected.rows, strict=True):
        assert int(row[1]) == cohort.size
        counts = row[2 : 2 + len(cohort.counts)]
        assert counts == ["" if n is None else str(n) for n in cohort.counts]


def test_a_drill_down_csv_lists_the_figures_customers_with_formulas_neutralised(manager_client):
    CustomerFactory(family_name='=HYPERLINK("http://evil")', email="evil@example.com")
    CustomerFactory(family_name="Tanaka", company="@corp")
    period = _period()
    response = manager_client.get(reverse("insights:figure_customers_export", args=["new_customers"]) + _query(period))
    assert response.status_code == 200
    rows = _rows(response)
    header = rows[0]
    family, company = header.index("family_name"), header.index("company")
    expected = list(metrics.customers_behind("new_customers", period).values_list("family_name", flat=True))
    assert len(rows) - 1 == len(expected)
    names = [row[family] for row in rows[1:]]
    assert '\'=HYPERLINK("http://evil")' in names and "Tanaka" in names
    assert "'@corp" in [row[company] for row in rows[1:]]


@pytest.mark.parametrize("role_client", ["support_client", "marketing_client"])
def test_only_managers_export(request, role_client):
    client = request.getfixturevalue(role_client)
    period = _period()
    for url in (
        reverse("insights:dashboard_export") + _query(period),
        reverse("insights:cohorts_export"),
        reverse("insights:figure_customers_export", args=["new_customers"]) + _query(period),
    ):
        assert client.get(url).status_code == 403, url
