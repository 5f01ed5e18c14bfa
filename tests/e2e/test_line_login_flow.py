"""A member links LINE from their member card by LINE Login, in a real headless Chromium against the stand-in's
OpenID Connect endpoints (authorize → callback → token → ID token verified → linked)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from loyalty.services import cards
from tests.factories import consenting_customer, line_user_id, member_join
from tests.line_standin import LOGIN_CHANNEL_ID, LOGIN_SECRET
from touchpoints.outreach.models import LineUser

pytestmark = pytest.mark.e2e


def test_a_member_links_line_from_the_card(page, live_server, line_standin, settings, problems):
    # given: a LINE Login channel, a member on their card, and a LINE user logged in to LINE
    settings.TSUNAGU_BASE_URL = live_server.url
    settings.LINE_LOGIN_CHANNEL_ID, settings.LINE_LOGIN_CHANNEL_SECRET = LOGIN_CHANNEL_ID, LOGIN_SECRET
    line_standin.state.login_user_id = line_user_id(5)
    membership = member_join(customer=consenting_customer(email="yui@example.jp"))
    page.goto(cards.card_link(cards.card_for(membership)))

    # when: they press "Link LINE" (LINE's consent, played by the stand-in, sends them back)
    page.get_by_role("button", name="Link LINE").click()

    # then: they are back on the card, which says LINE is linked, and the link is stored
    expect(page.locator("#card-line-linked")).to_be_visible()
    assert page.url.endswith("/m/card/")
    user = LineUser.objects.get(user_id=line_user_id(5))
    assert user.customer_id == membership.customer_id
    assert [p for p in problems if "favicon" not in p and "404" not in p] == []


def test_a_line_user_links_with_member_number_and_birth_date(
    page, live_server, line_standin, settings, monkeypatch, problems
):
    from touchpoints.outreach.line import client as line
    from touchpoints.outreach.line.events import line_events_process

    # given: a member with a birth date on file, and a LINE user on the link page (the webhook's work done at once)
    settings.TSUNAGU_BASE_URL = live_server.url
    line_standin.webhook_url = live_server.url + "/line/webhook/"
    monkeypatch.setattr("touchpoints.outreach.line.webhook._publish", lambda ids: line_events_process(event_ids=ids))
    membership = member_join(customer=consenting_customer(email="ren@example.jp", birth_date="1988-11-23"))
    with line.Client() as api:
        token = api.link_token(line_user_id(6))
    page.goto(f"{live_server.url}/line/link/?linkToken={token}")

    # when: a wrong date first, then the right one
    page.get_by_label("Member number").fill(membership.member_number)
    page.get_by_label("Birth date").fill("1988-11-24")
    page.locator("#line-proof-member-submit").click()
    expect(page.locator("#line-proof-wrong")).to_be_visible()
    page.get_by_label("Member number").fill(membership.member_number)
    page.get_by_label("Birth date").fill("1988-11-23")
    page.locator("#line-proof-member-submit").click()

    # then: LINE's dialog (the stand-in) sent accountLink, and the member is linked
    expect(page.locator("h1")).to_have_text("Account linked")
    assert LineUser.objects.get(user_id=line_user_id(6)).customer_id == membership.customer_id
    # the wrong date was answered 400 on purpose; nothing else went wrong
    assert [p for p in problems if "favicon" not in p and "404" not in p and "400" not in p] == []
