""" "Who to contact this week" in a real headless Chromium: the nightly scoring has run, a manager opens the list,
logs a call and starts a follow-up with one click each, and the row changes in place (htmx), with no script error."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from crm.insights.models import CustomerScore, Segment
from crm.insights.scoring import scores_refresh
from tests.e2e.helpers import grant, log_in, touchpoint_catalogue
from tests.factories import CustomerFactory, UserFactory, purchase_record
from touchpoints.models import Touchpoint
from touchpoints.outreach.models import StaffTask

pytestmark = pytest.mark.e2e

PAYLOAD = "<img src=x onerror=alert(1)>"


@pytest.fixture
def insight_roles(staff_roles):
    """Every app's role permissions and the touchpoint catalogue (transactional tests flush what migrations made)."""

    from crm.insights.roles import INSIGHTS_PERMISSIONS
    from touchpoints.outreach.roles import OUTREACH_PERMISSIONS
    from touchpoints.roles import JOURNEY_PERMISSIONS

    grant(JOURNEY_PERMISSIONS, OUTREACH_PERMISSIONS, INSIGHTS_PERMISSIONS)
    touchpoint_catalogue()


def test_manager_logs_a_call_and_starts_a_follow_up_from_the_contact_list(
    page: Page, live_server, insight_roles, problems
):
    manager = UserFactory(username="manager-contact", first_name="Mariko", last_name="Manager", role="Manager")
    now = timezone.now()
    big = CustomerFactory(family_name="Takahashi", given_name=PAYLOAD, owner=manager)
    purchase_record(big, Decimal("90000"), occurred_at=now - dt.timedelta(days=300))
    purchase_record(big, Decimal("90000"), occurred_at=now - dt.timedelta(days=290))
    for days in range(1, 9):  # recent small buyers, so the big spender's recency ranks low
        purchase_record(CustomerFactory(), Decimal("1000"), occurred_at=now - dt.timedelta(days=days))
    scores_refresh()
    row_score = CustomerScore.objects.get(customer=big)
    assert row_score.segment == Segment.CANT_LOSE

    log_in(page, live_server, "manager-contact")
    page.goto(live_server.url + reverse("insights_scoring:contact_list"))
    expect(page.get_by_role("heading", name="Who to contact this week")).to_be_visible()
    row = page.locator(f"#contact-row-{big.pk}")
    expect(row).to_contain_text("Takahashi")
    expect(row).to_contain_text(PAYLOAD)  # shown as text, not run
    expect(row.locator("[data-segment]")).to_have_text("Can't lose them")

    row.get_by_role("button", name="Log a call").click()
    expect(page.locator(f"#contact-row-{big.pk} [data-done]")).to_contain_text("Call logged")
    assert Touchpoint.objects.filter(customer=big, channel="phone", direction="outbound").count() == 1

    page.locator(f"#contact-row-{big.pk}").get_by_role("button", name="Start a follow-up").click()
    row = page.locator(f"#contact-row-{big.pk}")
    expect(row.locator("[data-done]")).to_contain_text("Follow-up task created for you")
    expect(row.locator("[data-open-task]")).to_contain_text("Follow-up open")
    expect(row.get_by_role("button", name="Start a follow-up")).to_have_count(0)
    (task,) = StaffTask.objects.filter(customer=big)
    assert task.assignee == manager and task.status == StaffTask.Status.OPEN

    page.reload()  # the list remembers: the follow-up is shown as open
    expect(page.locator(f"#contact-row-{big.pk} [data-open-task]")).to_be_visible()
    page.get_by_label("Owner").select_option("mine")
    expect(page).to_have_url(f"{live_server.url}{reverse('insights_scoring:contact_list')}?segment=&owner=mine")
    expect(page.locator("#contact-table tbody tr")).to_have_count(1)
    assert problems == []
