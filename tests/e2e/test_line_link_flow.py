"""A LINE user links their account end to end, in a real headless Chromium: the follow brings the invitation, the
link page asks for the address on file and the mailed code, LINE's dialog (the stand-in) sends the accountLink
event back, and the customer is linked."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.factories import consenting_customer, line_user_id
from tests.line_standin import button_uri
from touchpoints.outreach.line.events import line_events_process
from touchpoints.outreach.models import LineUser, OutboundMessage

pytestmark = pytest.mark.e2e


def test_a_line_user_links_their_account(page, live_server, line_standin, settings, monkeypatch, problems):
    # given: the webhook's work done at once (no worker here), and a customer on file
    monkeypatch.setattr("touchpoints.outreach.line.webhook._publish", lambda ids: line_events_process(event_ids=ids))
    monkeypatch.setattr("touchpoints.outreach.outbox.publishing.publish", lambda ids: len(ids))
    settings.TSUNAGU_BASE_URL = live_server.url
    line_standin.webhook_url = live_server.url + "/line/webhook/"
    customer = consenting_customer(email="hanako@example.jp")

    # when: a LINE user follows the account, they get a message with a button to the link page
    assert line_standin.webhook([line_standin.follow(line_user_id(1))]) == 200
    (invite,) = line_standin.deliveries_to(line_user_id(1))
    link = button_uri(invite.messages[0])
    page.goto(link)

    # and: they give the address on file, then the code mailed to it
    page.get_by_label("Email address").fill("hanako@example.jp")
    page.get_by_role("button", name="Send the code").click()
    expect(page.locator("#line-code")).to_be_visible()
    code = re.search(r"\b(\d{6})\b", OutboundMessage.objects.get(source_ref="line-link").body).group(1)
    page.get_by_label("Code").fill(code)
    page.get_by_role("button", name="Link").click()

    # then: LINE's dialog (the stand-in) took the nonce, sent accountLink, and the customer is linked
    expect(page.locator("h1")).to_have_text("Account linked")
    user = LineUser.objects.get(user_id=line_user_id(1))
    assert user.customer_id == customer.pk and user.linked_at is not None
    assert [p for p in problems if "favicon" not in p and "404" not in p] == []
