"""Actions from a figure's customers in a real headless Chromium: a manager opens the customers behind "new
customers", saves them as a segment, and gives each a welcome call task."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from customers.models import Customer, Segment
from tests.e2e.helpers import grant, log_in, touchpoint_catalogue
from tests.factories import CustomerFactory, UserFactory
from touchpoints.outreach.models import StaffTask

pytestmark = pytest.mark.e2e


def test_a_manager_saves_a_figures_customers_as_a_segment_and_gives_them_tasks(
    page, live_server, staff_roles, problems
):
    from crm.insights.roles import INSIGHTS_PERMISSIONS
    from customers.roles import SEGMENT_PERMISSIONS
    from touchpoints.outreach.roles import OUTREACH_PERMISSIONS
    from touchpoints.roles import JOURNEY_PERMISSIONS

    grant(INSIGHTS_PERMISSIONS, JOURNEY_PERMISSIONS, OUTREACH_PERMISSIONS, SEGMENT_PERMISSIONS)
    touchpoint_catalogue()
    UserFactory(username="manager-drill", role="Manager")
    customers = [CustomerFactory(family_name=f"Newcomer {i}") for i in range(3)]
    log_in(page, live_server, "manager-drill")

    page.goto(live_server.url + "/insights/figures/new_customers/customers/")
    page.locator("#list-actions summary").click()
    segment_form = page.locator("#list-segment-form")
    segment_form.get_by_label("Segment name").fill("Newcomers")
    segment_form.get_by_role("button", name="Save as segment").click()
    expect(page.locator("body")).to_contain_text("Saved as the segment")
    segment = Segment.objects.get(name="Newcomers")
    assert set(Customer.objects.in_segment(segment).values_list("pk", flat=True)) == {c.pk for c in customers}

    page.locator("#list-actions summary").click()
    tasks_form = page.locator("#list-tasks-form")
    tasks_form.get_by_label("What needs doing").fill("Welcome call")
    tasks_form.get_by_role("button", name="Create a task for each").click()
    expect(page.locator("body")).to_contain_text("3 tasks created")
    assert StaffTask.objects.filter(title="Welcome call").count() == 3
    assert problems == []
