"""A manager's morning in a real headless Chromium: the dashboard, a wider range, a figure clicked through to its
customers, and the screenshot in the README.

The screenshot goes to var/screenshots/dashboard.png on every run; with TSUNAGU_SCREENSHOTS=1 it is also copied
to docs/screenshot-dashboard.png (the README's picture), so an ordinary test run leaves the repository alone.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import expect

from crm.insights import metrics, rollups
from customers.models import Customer
from tests.e2e.helpers import grant, log_in, touchpoint_catalogue
from tests.factories import CustomerFactory, UserFactory, programme_with_tiers, touchpoint_create

pytestmark = pytest.mark.e2e

SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
README_SCREENSHOT = Path(settings.BASE_DIR) / "docs" / "screenshot-dashboard.png"


@pytest.fixture
def insights_world(staff_roles, monkeypatch):
    """What the migrations made and transactional tests flush: the roles' insights and journey permissions and
    the touchpoint catalogue. And no broker."""

    from crm.insights.roles import INSIGHTS_PERMISSIONS
    from touchpoints.roles import JOURNEY_PERMISSIONS

    grant(INSIGHTS_PERMISSIONS, JOURNEY_PERMISSIONS)
    touchpoint_catalogue()
    monkeypatch.setattr("touchpoints.outreach.outbox.publishing.publish", lambda ids: len(ids))


def _shop(today: dt.date) -> list[Customer]:
    """Three customers new ten days ago, four new sixty days ago; each buys when they arrive, some again; five
    are loyalty members; a few answered surveys and wrote in (rows written directly, at chosen times)."""
    from feedback.models import Status, Survey, Ticket
    from loyalty.models import LedgerEntry, Membership

    now = timezone.now()
    programme = programme_with_tiers()
    tiers = list(programme.tiers.order_by("position"))
    customers = []
    for i, days_ago in enumerate([10, 10, 10, 60, 60, 60, 60]):
        customer = CustomerFactory(family_name=f"Dashboard {i}")
        at = now - dt.timedelta(days=days_ago)
        Customer.objects.filter(pk=customer.pk).update(created_at=at)
        touchpoint_create(customer, "transaction", amount=Decimal(3000 + 1000 * i), occurred_at=at)
        if i % 2:
            touchpoint_create(customer, "transaction", amount=Decimal(2500), occurred_at=now - dt.timedelta(days=3))
        if i < 5:
            membership = Membership.objects.create(
                customer=customer,
                programme=programme,
                tier=tiers[i % len(tiers)],
                joined_at=at,
                joined_on=at.date(),
                member_number=f"E{i:06d}",
                referral_code=f"E{i:06d}",
            )
            for n, (kind, points, ago) in enumerate([("earn", 300 + 50 * i, days_ago), ("redeem", -100, 2)]):
                LedgerEntry.objects.create(
                    membership=membership,
                    kind=kind,
                    points=points,
                    reason="e2e",
                    source=LedgerEntry.Source.STAFF,
                    key=f"e2e-{i}-{n}",
                    created_at=now - dt.timedelta(days=ago),
                )
        customers.append(customer)
    for customer, score, ago in zip(customers, [10, 9, 9, 7, 4, 8, 6], [5, 6, 7, 8, 9, 50, 55], strict=True):
        Survey.objects.create(customer=customer, kind=Survey.Kind.NPS, score=score, answered_at=now - dt.timedelta(ago))
    for customer, score in zip(customers, [5, 4, 4, 2], strict=False):
        Survey.objects.create(customer=customer, kind=Survey.Kind.CSAT, score=score, answered_at=now - dt.timedelta(4))
    for customer, ago, hours in zip(customers, [20, 12, 6, 45], [2, 5, None, 3], strict=False):
        opened = now - dt.timedelta(days=ago)
        Ticket.objects.create(
            customer=customer,
            subject="A question",
            created_at=opened,
            first_response_due_at=opened + dt.timedelta(hours=4),
            first_responded_at=None if hours is None else opened + dt.timedelta(hours=hours),
            resolved_at=None if hours is None else opened + dt.timedelta(hours=hours + 20),
            resolution_due_at=opened + dt.timedelta(days=2),
            status=Status.OPEN if hours is None else Status.RESOLVED,
        )
    return customers


def test_a_manager_widens_the_range_and_clicks_a_figure_through_to_its_customers(
    page, live_server, insights_world, problems
):
    # given: a shop with customers who arrived ten and sixty days ago, and the rollups brought up to date
    today = timezone.localdate()
    _shop(today)
    rollups.rebuild()
    UserFactory(username="manager-e2e", first_name="Mariko", last_name="Manager", role="Manager")
    new_label = str(next(f.label for f in metrics.FIGURES if f.key == "new_customers"))

    # when: the manager logs in: the dashboard is the home page, showing the last 30 days
    log_in(page, live_server, "manager-e2e")
    card = page.locator("#figure-new_customers .figure-value")
    expect(card).to_have_text("3")
    expect(page.locator("#id_range")).to_have_value("30")
    expect(page.locator("#chart-activity")).to_have_attribute("data-ready", "true")
    expect(page.locator("#chart-funnel")).to_have_attribute("data-ready", "true")

    # and: widens the range to 90 days
    page.locator("#id_range").select_option("90")

    # then: the page reloads for the new period, and the figure counts the customers of sixty days ago too
    expect(page).to_have_url(re.compile(r"range=90"))
    expect(card).to_have_text("7")
    expected = metrics.dashboard(
        metrics.Period.last_days(90, today=today), sections=["overview", "customers", "revenue"], today=today
    )
    assert expected.figures["new_customers"].value == 7
    expect(page.locator("#chart-activity")).to_have_attribute("data-ready", "true")
    expect(page.locator("#chart-funnel")).to_have_attribute("data-ready", "true")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOTS / "dashboard.png"
    page.screenshot(path=str(shot), full_page=True)
    if os.environ.get("TSUNAGU_SCREENSHOTS") == "1":
        shutil.copyfile(shot, README_SCREENSHOT)

    # when: they click the figure
    card.get_by_role("link").click()

    # then: the customers behind it, for the same period
    expect(page.locator("#drill-title")).to_contain_text(new_label)
    rows = page.locator("#drill-table tbody tr[data-customer]")
    expect(rows).to_have_count(7)
    expect(page.locator("#drill-table")).to_contain_text("Dashboard 6")
    assert f"start={(today - dt.timedelta(days=89)).isoformat()}" in page.url

    # when: they open the cohort table from the Insights menu
    page.get_by_role("button", name="Insights").click()
    page.get_by_role("link", name="Cohorts", exact=True).click()

    # then: this month's cohort (the three who first bought ten days ago, if that is this month) and its chart
    expect(page.locator("#chart-cohorts")).to_have_attribute("data-ready", "true")
    cohorts = metrics.cohorts(end=today, months=12)
    this_month = cohorts.rows[-1]
    row = page.locator(f"#cohort-table tr[data-cohort='{this_month.month:%Y-%m}']")
    expect(row.locator("td").first).to_have_text(str(this_month.size))
    page.screenshot(path=str(SCREENSHOTS / "cohorts.png"), full_page=True)

    # and: the page that explains the figures
    page.get_by_role("link", name="About these figures").first.click()
    expect(page.locator("#figure-new_customers")).to_have_text(new_label)

    # and: the Content-Security-Policy blocked nothing, and no script failed
    assert problems == []
