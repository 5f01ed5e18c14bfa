"""Outreach in a real headless Chromium: a manager creates a follow-up rule, logs the purchase that triggers
it, the dispatcher runs, and the message is in the outbox and on the customer's timeline."""

from __future__ import annotations

import pytest
from django.core import mail
from playwright.sync_api import expect

from tests.e2e.helpers import grant, log_in, touchpoint_catalogue
from tests.factories import UserFactory, consenting_customer
from touchpoints.outreach import outbox, rules
from touchpoints.outreach.models import FollowUp, MessageTemplate, OutboundMessage

pytestmark = pytest.mark.e2e

PAYLOAD = "<img src=x onerror=alert(1)>"


@pytest.fixture
def outreach_roles(staff_roles, settings):
    """The journey's and outreach's permissions and the catalogue (transactional tests flush what the
    migrations made), and no quiet hours (the test runs at any hour)."""

    from touchpoints.outreach.roles import OUTREACH_PERMISSIONS
    from touchpoints.roles import JOURNEY_PERMISSIONS

    settings.TSUNAGU_QUIET_HOURS = ""
    grant(JOURNEY_PERMISSIONS, OUTREACH_PERMISSIONS)
    touchpoint_catalogue()
    rules.rules_changed()
    yield
    rules.rules_changed()


@pytest.fixture
def manager_user(outreach_roles):
    return UserFactory(username="manager-outreach", first_name="Mariko", last_name="Manager", role="Manager")


@pytest.fixture
def worker(monkeypatch):
    """The send tasks run here, as a worker would run them (the worker tests use a real one)."""
    monkeypatch.setattr(
        "touchpoints.outreach.outbox.publishing.publish", lambda ids: outbox.messages_send(message_ids=ids).sent
    )


def test_a_rule_sends_a_thank_you_after_a_purchase_and_it_shows_in_the_outbox_and_on_the_timeline(
    page, live_server, manager_user, worker, problems
):
    # given: a thank-you template, a customer who accepts marketing mail, and a manager logged in
    MessageTemplate.objects.create(
        name="Thank you",
        slug="thank-you",
        purpose="marketing",
        subject_en="Thank you, {customer_name}",
        body_en="Dear {customer_name},\nthank you for your purchase at {shop_name}.\n{unsubscribe_url}",
    )
    customer = consenting_customer(family_name="Sato", given_name="Kenji", email="kenji@example.com")
    log_in(page, live_server, "manager-outreach")

    # when: they create a rule from the Outreach menu: a Transaction, then at once, the thank-you mail
    page.get_by_role("button", name="Outreach").click()
    page.get_by_role("link", name="Follow-up rules").click()
    page.get_by_role("link", name="New rule").click()
    form = page.locator("#rule-form")
    form.get_by_label("Name").fill(f"Thank you {PAYLOAD}")
    form.get_by_label("Trigger").select_option(label="A touchpoint of a type is recorded")
    form.get_by_label("Touchpoint type").select_option(label="Transaction")
    form.locator("#id_delay_amount").fill("0")
    form.get_by_label("Action").select_option(label="Send a message template")
    form.get_by_label("Message template").select_option(label="Thank you")
    expect(form.locator("#id_task_title")).to_be_hidden()  # a task's fields show for the task action only
    form.get_by_role("button", name="Save rule").click()
    expect(page.locator("#rule-table")).to_contain_text(f"Thank you {PAYLOAD}")
    assert page.locator("main img[src='x']").count() == 0

    # when: they log the customer's purchase on the customer page
    page.goto(live_server.url + customer.get_absolute_url())
    quick = page.locator("#touchpoint-form")
    quick.get_by_label("What happened").select_option(label="Transaction (Decision)")
    quick.get_by_label("Amount (yen)").fill("5400")
    quick.get_by_role("button", name="Log touchpoint").click()
    expect(page.locator("#timeline .timeline-item").first).to_contain_text("Entered the journey at Decision")
    assert FollowUp.objects.filter(customer=customer).count() == 1

    # and: the dispatcher runs (beat's job every minute), and the worker sends what it queued
    report = rules.followups_dispatch()
    assert report.messages == 1

    # then: the outbox shows the message to Kenji as sent
    page.get_by_role("button", name="Outreach").click()
    page.get_by_role("link", name="Outbox").click()
    row = page.locator("#outbox-table tbody tr").first
    expect(row).to_contain_text("Kenji Sato")
    expect(row).to_contain_text("Thank you, Kenji Sato")
    expect(row).to_contain_text("Sent")
    page.locator("#outbox-filters").get_by_label("Status").select_option(label="Skipped")
    expect(page.locator("#outbox-table")).to_contain_text("No messages match.")

    # and: the customer's timeline shows the follow-up email, sent to them
    page.goto(live_server.url + customer.get_absolute_url())
    item = page.locator("#timeline .timeline-item[data-kind='touchpoint']").first
    expect(item).to_contain_text("Follow-up email")
    expect(item).to_contain_text("Thank you, Kenji Sato")

    # and: one mail went out, with its unsubscribe headers, and nothing broke on the way
    message = OutboundMessage.objects.get(customer=customer)
    assert message.status == "sent" and len(mail.outbox) == 1
    assert "List-Unsubscribe" in mail.outbox[0].extra_headers
    assert problems == []
