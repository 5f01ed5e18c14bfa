"""A broadcast in a real headless Chromium: marketing fills in the form, sees how many customers it reaches (and
who is left out and why) and the message as one of them gets it, sends a test to themselves, and confirms
"Send to N customers" — which refuses when the audience changed in between."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from customers.models import Segment
from tests.e2e.helpers import grant, log_in
from tests.factories import CustomerFactory, UserFactory, consenting_customer
from touchpoints.outreach.models import Broadcast, MessageTemplate, OutboundMessage

pytestmark = pytest.mark.e2e


@pytest.fixture
def marketer(staff_roles, settings):
    from touchpoints.outreach.roles import OUTREACH_PERMISSIONS
    from touchpoints.roles import JOURNEY_PERMISSIONS

    settings.TSUNAGU_QUIET_HOURS = ""
    grant(JOURNEY_PERMISSIONS, OUTREACH_PERMISSIONS)
    return UserFactory(username="marketing-e2e", email="me@shop.example", role="Marketing")


def test_a_broadcast_is_checked_previewed_tested_and_confirmed_for_n_customers(
    page, live_server, marketer, monkeypatch, problems
):
    # given: a formatted template, a segment of three who may receive it and one who may not
    sent_now: list[int] = []
    monkeypatch.setattr("touchpoints.outreach.outbox.publishing.publish", lambda ids: sent_now.extend(ids))
    MessageTemplate.objects.create(
        name="Spring sale",
        slug="spring-sale",
        purpose="marketing",
        body_format="markdown",
        subject_en="Spring sale for {customer_name}",
        body_en="# Spring sale\n\n**20% off** this week.\n\n![banner](https://shop.example/b.png)\n\n{unsubscribe_url}",
    )
    Segment.objects.create(name="English speakers", rules={"language": "en"})
    for i in range(3):
        consenting_customer(email=f"c{i}@example.com", given_name=f"Ken{i}")
    CustomerFactory(email="no@example.com", marketing_consent=False)
    log_in(page, live_server, "marketing-e2e")

    # when: they fill in the broadcast and ask to check it
    page.goto(live_server.url + "/touchpoints/outreach/broadcasts/new/")
    form = page.locator("#broadcast-form")
    form.get_by_label("Name").fill("Spring")
    form.get_by_label("Message template").select_option(label="Spring sale")
    form.get_by_label("Segment").select_option(label="English speakers")
    form.get_by_role("button", name="Check recipients and preview").click()

    # then: the count, the reason one is left out, and the rendered preview are shown; nothing is sent yet
    expect(page.locator("#audience-recipients")).to_have_text("3")
    expect(page.locator("#audience-excluded")).to_contain_text("1")
    expect(page.locator("#preview-body h1")).to_have_text("Spring sale")
    expect(page.locator("#preview-body strong")).to_have_text("20% off")
    expect(page.locator("#preview-body a[href='https://shop.example/b.png']")).to_contain_text("banner")
    assert not Broadcast.objects.exists()

    # when: they send a test to themselves
    page.get_by_role("button", name="Send a test to me").click()
    expect(page.locator(".alert-success, .toast, [role=alert]").first).to_contain_text("me@shop.example")
    test = OutboundMessage.objects.get()
    assert test.is_test and test.to_address == "me@shop.example" and sent_now == [test.pk]

    # and: a fourth customer joins the segment before they confirm "Send to 3 customers"
    consenting_customer(email="late@example.com")
    page.get_by_role("button", name="Send to 3 customers").click()

    # then: nothing is sent, and the page shows the new count to confirm again
    expect(page.locator("#audience-recipients")).to_have_text("4")
    assert not Broadcast.objects.exists()
    page.get_by_role("button", name="Send to 4 customers").click()

    # then: the broadcast exists and its progress page shows
    expect(page.locator("#broadcast-progress")).to_be_visible()
    assert Broadcast.objects.get().name == "Spring"
    assert problems == []
