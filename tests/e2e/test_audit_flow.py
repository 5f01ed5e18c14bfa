"""A manager's audit trail in a real browser: an edit shows in the customer's history, the visit in its access log,
and the access report answers who opened the customer."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from tests.e2e.helpers import grant, log_in
from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.e2e


def test_a_manager_edits_a_customer_then_sees_the_change_the_access_and_the_report(
    page, live_server, staff_roles, problems
):
    # given: a manager (the audit permission, flushed by transactional tests, granted again) and a customer
    from crm.audit.roles import AUDIT_PERMISSIONS
    from crm.insights.roles import INSIGHTS_PERMISSIONS

    grant(AUDIT_PERMISSIONS, INSIGHTS_PERMISSIONS)
    customer = CustomerFactory(family_name="Sato", given_name="Hanako", company="")
    UserFactory(username="manager-e2e", first_name="Mariko", last_name="Manager", role="Manager")
    log_in(page, live_server, "manager-e2e")

    # when: they change the customer's company on the edit page
    page.goto(live_server.url + reverse("customers:update", args=[customer.pk]))
    page.get_by_label("Company").fill("Sato Shoten")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Hanako Sato")).to_be_visible()

    # and: open the history and access log on the customer page
    panel = page.locator("#audit-panel")
    panel.get_by_role("button", name="Show the history and the access log").click()

    # then: the change, before → after, by them; and their visit of the page
    history = panel.locator("#audit-history")
    expect(history).to_contain_text("company")
    expect(history).to_contain_text("Sato Shoten")
    expect(history).to_contain_text("manager-e2e")
    expect(panel.locator("#audit-access")).to_contain_text("Customer page")

    # when: they run the access report for this customer over today
    page.goto(live_server.url + reverse("home"))
    page.locator("#nav-insights").click()
    page.get_by_role("link", name="Access report").click()
    page.locator("#id_customers").fill(str(customer.pk))
    today = timezone.localdate().isoformat()
    page.get_by_label("From").fill(today)
    page.get_by_label("To (inclusive)").fill(today)
    page.get_by_role("button", name="Show").click()

    # then: their own visits are listed, and the URL holds no customer
    results = page.locator("#report-results")
    expect(results).to_contain_text("manager-e2e")
    expect(results).to_contain_text("Customer page")
    assert "customers=" not in page.url
    assert problems == []
