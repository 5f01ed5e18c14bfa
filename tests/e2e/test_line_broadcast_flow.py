"""A LINE broadcast in a real headless Chromium: the confirmation counts who LINE cannot reach (not linked, not
following, blocked) rather than email's rules; once sent, the broadcast's LINE sends are listed with their state
and why."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from customers.models import Segment
from tests.e2e.helpers import grant, log_in
from tests.factories import MessageTemplateFactory, UserFactory, consenting_customer, line_linked_customer
from touchpoints.outreach.models import Broadcast

pytestmark = pytest.mark.e2e


@pytest.fixture
def marketer(staff_roles, settings):
    from touchpoints.outreach.roles import OUTREACH_PERMISSIONS
    from touchpoints.roles import JOURNEY_PERMISSIONS

    settings.TSUNAGU_QUIET_HOURS = ""
    grant(JOURNEY_PERMISSIONS, OUTREACH_PERMISSIONS)
    return UserFactory(username="marketing-e2e", email="me@shop.example", role="Marketing")


def test_a_line_broadcast_counts_who_line_cannot_reach_and_lists_its_sends(
    page, live_server, marketer, line_standin, monkeypatch, problems
):
    from touchpoints.outreach.broadcasts import broadcast_prepare

    # given: a LINE template; two linked followers, one linked who does not follow, one not linked
    monkeypatch.setattr("touchpoints.outreach.outbox.publishing.publish", lambda ids: len(ids))
    monkeypatch.setattr(
        "touchpoints.outreach.broadcasts._publish_prepare", lambda pk: broadcast_prepare(broadcast_id=pk)
    )
    MessageTemplateFactory(
        name="LINE news", channel="line", purpose="marketing", line_body_en="New in", line_body_ja="新作"
    )
    Segment.objects.create(name="Everyone", rules={})
    line_linked_customer(1, given_name="Aoi")
    line_linked_customer(2, given_name="Ren")
    line_linked_customer(3, following=False, given_name="Sora")
    consenting_customer(email="mail@example.com", given_name="Mei")
    log_in(page, live_server, "marketing-e2e")

    # when: they check the broadcast
    page.goto(live_server.url + "/touchpoints/outreach/broadcasts/new/")
    form = page.locator("#broadcast-form")
    form.get_by_label("Name").fill("LINE spring")
    form.get_by_label("Message template").select_option(label="LINE news")
    form.get_by_label("Segment").select_option(label="Everyone")
    form.get_by_role("button", name="Check recipients and preview").click()

    # then: two receive it, two are left out because LINE cannot reach them (not email's "no address")
    expect(page.locator("#audience-recipients")).to_have_text("2")
    expect(page.locator("#audience-excluded")).to_contain_text("Not following on LINE (or blocked): 2")
    expect(page.locator("#preview-body")).to_contain_text(re.compile("New in|新作"))  # the LINE text, not email's

    # when: they send it and open its LINE sends
    page.get_by_role("button", name="Send to 2 customers").click()
    expect(page.locator("#broadcast-progress")).to_be_visible()
    broadcast = Broadcast.objects.get()
    page.goto(f"{live_server.url}/touchpoints/outreach/broadcasts/{broadcast.pk}/")
    page.locator("#broadcast-line-sends").click()

    # then: each customer's send is listed with its state, and the skipped ones say why
    table = page.locator("#outbox-table")
    for name in ("Aoi", "Ren", "Sora", "Mei"):
        expect(table).to_contain_text(name)
    expect(table).to_contain_text("Not following on LINE (or blocked)")
    assert problems == []
