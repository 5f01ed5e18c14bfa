"""Closing the loop in a real headless Chromium: a customer writes through the public form and confirms their
address by the link mailed to them, support replies and resolves, the customer answers the CSAT survey with a 1,
and a follow-up ticket appears in the queue."""

from __future__ import annotations

import importlib
import re

import pytest
from django.conf import settings
from django.urls import reverse
from playwright.sync_api import expect

from feedback import services
from feedback.models import Survey, Ticket
from tests.e2e.helpers import grant, log_in, touchpoint_catalogue
from tests.factories import UserFactory
from touchpoints.outreach.models import OutboundMessage

pytestmark = pytest.mark.e2e

PAYLOAD = "<img src=x onerror=alert(1)>"


@pytest.fixture
def feedback_world(staff_roles, monkeypatch):
    """What the migrations made and transactional tests flush: the roles' journey and feedback permissions, the
    touchpoint catalogue, the SLA policies, the working week and the message templates. And no broker."""
    from django.db import connection
    from django.db.migrations.loader import MigrationLoader

    from feedback.roles import FEEDBACK_PERMISSIONS
    from touchpoints.roles import JOURNEY_PERMISSIONS

    grant(JOURNEY_PERMISSIONS, FEEDBACK_PERMISSIONS)
    touchpoint_catalogue()
    # The models as those migrations knew them (their message templates were then in the touchpoints app).
    apps = MigrationLoader(connection).project_state(("feedback", "0005_message_templates"), at_end=True).apps
    for name in ("0002_seed_sla_calendar", "0005_message_templates"):
        importlib.import_module(f"feedback.migrations.{name}").forwards(apps, None)
    monkeypatch.setattr("touchpoints.outreach.outbox.publishing.publish", lambda ids: len(ids))
    return FEEDBACK_PERMISSIONS


def test_a_complaint_is_answered_resolved_rated_1_and_followed_up(page, browser, live_server, feedback_world, problems):
    UserFactory(username="support-e2e", first_name="Sachiko", last_name="Support", role="Support")

    # given: a customer on the public feedback form (on a phone-sized screen)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server.url + reverse("feedback:form"))
    page.get_by_label("Your name").fill(f"Hanako {PAYLOAD}")
    page.get_by_label("Your email").fill("hanako@example.com")
    page.get_by_label("What is it about?").select_option("complaint")
    page.get_by_label("Your message").fill(f"My kettle leaks {PAYLOAD}\nPlease help.")
    page.get_by_role("button", name="Send").click()

    # then: they are asked to confirm their address, and no ticket is open before they do
    expect(page.locator("#confirm-needed")).to_contain_text("confirm your address")
    assert not Ticket.objects.exists()

    # when: they open the link mailed to them and confirm
    (mail,) = OutboundMessage.objects.filter(source_app="feedback")
    link = re.search(r"http://\S+/feedback/confirm/\S+/", mail.body).group(0)
    page.goto(link.replace(settings.TSUNAGU_BASE_URL, live_server.url))
    page.get_by_role("button", name="Confirm and send").click()

    # then: a thank-you page with the ticket's reference
    reference = page.locator("#ticket-reference")
    expect(reference).to_have_text(re.compile(r"^T-\d{6}$"))
    ticket = Ticket.objects.get()
    assert reference.inner_text() == ticket.reference and ticket.channel == "web_form"

    # when: support opens the queue and the ticket, takes it, and replies
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, live_server, "support-e2e")
    page.get_by_role("button", name="Feedback").click()
    page.get_by_role("link", name="Tickets", exact=True).click()
    row = page.locator(f"#ticket-table tr[data-ticket='{ticket.pk}']")
    expect(row).to_contain_text(f"My kettle leaks {PAYLOAD}")
    expect(row.locator(".sla-badge")).to_contain_text("left")
    row.get_by_role("link", name=ticket.reference).click()
    expect(page.locator("#ticket-body")).to_contain_text(f"My kettle leaks {PAYLOAD}")
    page.locator("#assignee-select").select_option(label="Sachiko Support")
    page.locator("#assign-form").get_by_role("button", name="Assign").click()
    expect(page.locator(".alert-success")).to_contain_text("Assignee changed")
    page.locator("#reply-body").fill("We are sorry: a new kettle is on its way.")
    page.locator("#reply-submit").click()

    # then: the reply is in the conversation, mailed through the outbox, and the ticket is open
    expect(page.locator("#conversation .message-reply")).to_contain_text("a new kettle is on its way")
    expect(page.locator("#ticket-status")).to_have_text("Open")

    # when: they resolve it
    page.locator("#status-actions button[data-status='resolved']").click()
    expect(page.locator("#ticket-status")).to_have_text("Resolved")
    survey = Survey.objects.get(ticket=ticket)

    # and: the customer opens the CSAT link from the mail (their own browser) and answers 1
    customer_context = browser.new_context(locale="en-US", viewport={"width": 390, "height": 844})
    customer_page = customer_context.new_page()
    customer_page.on("dialog", lambda dialog: problems.append(f"dialog: {dialog.message}"))
    customer_page.goto(services.survey_link(survey).replace("http://localhost:8000", live_server.url))
    expect(customer_page.get_by_role("group")).to_contain_text(ticket.reference)
    customer_page.locator("label[for='score-1']").click()
    customer_page.get_by_label("Anything you would like to add?").fill("Still leaking.")
    customer_page.get_by_role("button", name="Send my answer").click()
    expect(customer_page.locator("#survey-done")).to_contain_text("Someone from our team will get back to you")
    customer_page.go_back()
    customer_page.reload()
    expect(customer_page.locator("#survey-done")).to_contain_text("already answered")
    customer_context.close()

    # then: a follow-up ticket is in the support agent's queue, with its own SLA countdown
    page.goto(live_server.url + reverse("feedback:queue") + "?queue=mine")
    follow_up = Ticket.objects.get(source_survey=survey)
    row = page.locator(f"#ticket-table tr[data-ticket='{follow_up.pk}']")
    expect(row).to_contain_text("Follow-up")
    expect(row).to_contain_text("CSAT")
    expect(row.locator(".sla-badge")).to_be_visible()
    row.get_by_role("link", name=follow_up.reference).click()
    expect(page.locator("#survey-card")).to_contain_text("Still leaking.")
    expect(page.locator("#survey-card")).to_contain_text("Loop open")

    # and: nothing the customer typed ran, and nothing was blocked by the Content-Security-Policy
    assert page.locator("main img[src='x']").count() == 0
    assert problems == []
