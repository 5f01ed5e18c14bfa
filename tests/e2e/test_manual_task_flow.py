"""A manual task in a real headless Chromium: support opens a customer, writes "call her back tomorrow", and finds
it in their follow-ups."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import grant, log_in
from tests.factories import CustomerFactory

pytestmark = pytest.mark.e2e


def test_support_creates_a_task_from_the_customer_page(page, live_server, support_user, problems):
    from touchpoints.outreach.roles import OUTREACH_PERMISSIONS
    from touchpoints.roles import JOURNEY_PERMISSIONS

    grant(JOURNEY_PERMISSIONS, OUTREACH_PERMISSIONS)
    customer = CustomerFactory(family_name="安藤", given_name="裕子")
    log_in(page, live_server, "support-e2e")

    page.goto(live_server.url + customer.get_absolute_url())
    form = page.locator("#manual-task-form")
    expect(form).to_be_visible()
    form.get_by_label("What needs doing").fill("Call her back about the refund")
    form.get_by_role("button", name="Create task").click()

    expect(page.locator("#outreach-tasks")).to_contain_text("Call her back about the refund")
    page.goto(live_server.url + "/touchpoints/outreach/tasks/")
    expect(page.locator("main")).to_contain_text("Call her back about the refund")
    assert problems == []
