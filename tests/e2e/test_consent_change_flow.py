"""A support agent re-subscribes a customer who unsubscribed, in a real headless Chromium: the form asks why, and
the reason lands on the customer's timeline under the agent's name (issue 16)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from customers.models import Customer
from tests.e2e.helpers import log_in
from tests.factories import CustomerFactory

pytestmark = pytest.mark.e2e


def test_support_changes_consent_only_with_a_reason(page, live_server, support_user, problems):
    # given: a customer who unsubscribed, and a support agent on their edit form
    customer = CustomerFactory(
        family_name="Sato",
        given_name="Kenji",
        email="kenji@example.jp",
        marketing_consent=False,
        consent_source=Customer.ConsentSource.UNSUBSCRIBE,
    )
    log_in(page, live_server, "support-e2e")
    page.goto(live_server.url + customer.get_absolute_url())
    page.get_by_role("link", name="Edit").click()

    # when: they tick marketing consent and save without a reason
    page.get_by_label("Consents to marketing email").check()
    page.get_by_role("button", name="Save customer").click()

    # then: the form asks why, and nothing changed
    expect(page.locator("#customer-form")).to_contain_text("Say why the consent changes: the reason is kept.")
    customer.refresh_from_db()
    assert customer.marketing_consent is False

    # when: they give the reason
    page.get_by_label("Consents to marketing email").check()
    page.get_by_label("Why the consent changes").fill("Signed the in-store form on 3 May")
    page.get_by_role("button", name="Save customer").click()

    # then: saved, and the timeline shows who changed it and why
    expect(page.get_by_role("alert")).to_contain_text("Changes saved.")
    first_item = page.locator("#timeline .timeline-item").first
    expect(first_item).to_contain_text("Signed the in-store form on 3 May")
    expect(first_item).to_contain_text("Sachiko Support")
    customer.refresh_from_db()
    assert customer.marketing_consent is True
    assert problems == []
