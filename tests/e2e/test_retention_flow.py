"""A manager follows the retention policy in a real browser: the privacy requests page says how many inactive
customers the next nightly run will anonymise; after the run they are listed as the policy's, and the customer's
page shows them erased."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from tests.e2e.helpers import grant, log_in
from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.e2e


def test_a_manager_sees_who_the_policy_will_anonymise_then_the_run(page, live_server, staff_roles, problems, settings):
    # given: a two-year policy, a customer inactive for three years and one active last month
    from crm.dataprotection.roles import DATAPROTECTION_PERMISSIONS
    from crm.dataprotection.tasks import retention_anonymise_task
    from crm.insights.roles import INSIGHTS_PERMISSIONS

    grant(DATAPROTECTION_PERMISSIONS, INSIGHTS_PERMISSIONS)
    settings.TSUNAGU_RETENTION_INACTIVE_YEARS = 2
    now = timezone.now()
    gone = CustomerFactory(family_name="Kubo", email="kubo@example.jp", last_activity_at=now - dt.timedelta(days=1100))
    CustomerFactory(family_name="Mori", email="mori@example.jp", last_activity_at=now - dt.timedelta(days=30))
    UserFactory(username="manager-ret", role="Manager")
    log_in(page, live_server, "manager-ret")

    # when: the manager opens the privacy requests
    page.goto(live_server.url + reverse("dataprotection:list"))

    # then: the policy and the one customer due are shown, and nothing is recorded yet
    expect(page.locator("#retention-policy")).to_contain_text("no activity for 2 years")
    expect(page.locator("#retention-due")).to_contain_text("Due at the next run: 1 customer")
    expect(page.locator("#request-list-empty")).to_be_visible()

    # when: the nightly job runs, and the manager looks at the retention anonymisations
    assert retention_anonymise_task() == 1
    page.reload()
    page.locator("#request-kinds").get_by_role("link", name="Retention anonymisation").click()

    # then: one request, handled by the policy, for the inactive customer; none due any more
    rows = page.locator("#request-list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(f"#{gone.pk}")
    expect(rows.first).to_contain_text("Retention policy")
    expect(page.locator("#retention-due")).to_contain_text("Due at the next run: 0 customers")

    # and: the request's page shows the customer erased
    rows.first.get_by_role("link").click()
    expect(page.locator("#request-customer")).to_have_text("[erased]")
    assert problems == []
