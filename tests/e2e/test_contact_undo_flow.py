""" "Who to contact this week" in a real headless Chromium: a call logged by mistake is undone from the row (htmx), the
timeline loses it, and the customer's change history (a manager's audit page) says who undid it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from crm.insights.scoring import scores_refresh
from tests.e2e.helpers import grant, log_in, touchpoint_catalogue
from tests.factories import CustomerFactory, UserFactory, purchase_record
from touchpoints.models import Touchpoint

pytestmark = pytest.mark.e2e


@pytest.fixture
def insight_roles(staff_roles):
    from crm.audit.roles import AUDIT_PERMISSIONS
    from crm.insights.roles import INSIGHTS_PERMISSIONS
    from touchpoints.outreach.roles import OUTREACH_PERMISSIONS
    from touchpoints.roles import JOURNEY_PERMISSIONS

    grant(JOURNEY_PERMISSIONS, OUTREACH_PERMISSIONS, INSIGHTS_PERMISSIONS, AUDIT_PERMISSIONS)
    touchpoint_catalogue()


def test_a_call_logged_by_mistake_is_undone_from_the_row(page: Page, live_server, insight_roles, problems):
    UserFactory(username="manager-undo", role="Manager")
    now = timezone.now()
    big = CustomerFactory(family_name="Takahashi", given_name="Yuko")
    purchase_record(big, Decimal("90000"), occurred_at=now - dt.timedelta(days=300))
    purchase_record(big, Decimal("90000"), occurred_at=now - dt.timedelta(days=290))
    for days in range(1, 9):
        purchase_record(CustomerFactory(), Decimal("1000"), occurred_at=now - dt.timedelta(days=days))
    scores_refresh()
    calls = Touchpoint.objects.filter(customer=big, channel="phone", direction="outbound")

    log_in(page, live_server, "manager-undo")
    page.goto(live_server.url + reverse("insights_scoring:contact_list"))
    row = page.locator(f"#contact-row-{big.pk}")
    row.get_by_label("Note").fill("Wrong customer")
    row.get_by_role("button", name="Log a call").click()
    expect(page.locator(f"#contact-row-{big.pk} [data-done]")).to_contain_text("Call logged")
    assert calls.count() == 1

    page.locator(f"#contact-row-{big.pk}").get_by_role("button", name="Undo").click()
    expect(page.locator(f"#contact-row-{big.pk} [data-done]")).to_contain_text("Call undone")
    expect(page.locator(f"#contact-row-{big.pk}").get_by_role("button", name="Undo")).to_have_count(0)
    assert calls.count() == 0

    page.goto(live_server.url + reverse("audit:customer", args=[big.pk]))
    expect(page.locator("body")).to_contain_text("undone")
    expect(page.locator("body")).not_to_contain_text("Wrong customer")
    assert problems == []
