"""Actions from the customer list in a real headless Chromium: a manager searches the list, sees how many customers the
actions reach, gives each of them a task, saves them as a segment, and from that segment's page starts a broadcast
to it (the same actions, the same code, as a figure's customers)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from customers.models import Customer, Segment
from tests.e2e.helpers import grant, log_in, touchpoint_catalogue
from tests.factories import CustomerFactory, UserFactory
from touchpoints.outreach.models import StaffTask

pytestmark = pytest.mark.e2e


def test_a_manager_acts_on_the_searched_customer_list_and_a_segments_page(page, live_server, staff_roles, problems):
    from crm.insights.roles import INSIGHTS_PERMISSIONS
    from customers.roles import SEGMENT_PERMISSIONS
    from touchpoints.outreach.roles import OUTREACH_PERMISSIONS
    from touchpoints.roles import JOURNEY_PERMISSIONS

    grant(INSIGHTS_PERMISSIONS, JOURNEY_PERMISSIONS, OUTREACH_PERMISSIONS, SEGMENT_PERMISSIONS)
    touchpoint_catalogue()
    UserFactory(username="manager-list", role="Manager")
    wanted = [CustomerFactory(family_name="Kurosawa", given_name=f"Ken {i}") for i in range(3)]
    CustomerFactory(family_name="Ozu")
    log_in(page, live_server, "manager-list")

    page.goto(live_server.url + reverse("customers:list"))
    page.locator("#id_q").fill("Kurosawa")
    expect(page.locator("#customer-results tbody tr")).to_have_count(3)
    actions = page.locator("#list-actions")
    expect(actions.locator("[data-list-count]")).to_contain_text("3 customers")
    assert "Kurosawa" not in page.url  # the search stays out of the address

    actions.locator("summary").click()
    tasks_form = page.locator("#list-tasks-form")
    tasks_form.get_by_label("What needs doing").fill("Ask about the film festival")
    tasks_form.get_by_role("button", name="Create a task for each").click()
    expect(page.locator("body")).to_contain_text("3 tasks created")
    tasks = StaffTask.objects.filter(title="Ask about the film festival")
    assert sorted(tasks.values_list("customer_id", flat=True)) == sorted(c.pk for c in wanted)
    expect(page.locator("#customer-results tbody tr")).to_have_count(3)  # back on the same searched list

    page.locator("#list-actions summary").click()
    segment_form = page.locator("#list-segment-form")
    segment_form.get_by_label("Segment name").fill("Kurosawa family")
    segment_form.get_by_role("button", name="Save as segment").click()
    expect(page.locator("body")).to_contain_text("Saved as the segment")
    segment = Segment.objects.get(name="Kurosawa family")
    assert set(Customer.objects.in_segment(segment).values_list("pk", flat=True)) == {c.pk for c in wanted}

    page.goto(live_server.url + reverse("customers:list") + f"?segment={segment.pk}")
    page.locator("#list-actions summary").click()
    expect(page.locator("#list-segment-form")).to_contain_text("Kurosawa family")
    page.locator("#list-segment-form").get_by_role("button", name="Send them a broadcast").click()
    expect(page.get_by_label("Segment")).to_have_value(str(segment.pk))
    assert Segment.objects.count() == 1
    assert problems == []
