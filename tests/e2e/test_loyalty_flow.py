"""Loyalty in a real headless Chromium: join a programme, record a purchase, see the points, redeem a reward."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from loyalty.models import LedgerEntry, Membership, Redemption
from tests.e2e.helpers import grant, log_in, touchpoint_catalogue
from tests.factories import CustomerFactory, RewardFactory, UserFactory, programme_with_tiers

pytestmark = pytest.mark.e2e


@pytest.fixture
def loyalty_roles(staff_roles):
    """The journey's and loyalty's permissions and the touchpoint catalogue, which transactional tests flush
    after the migrations made them."""
    from loyalty.roles import LOYALTY_PERMISSIONS
    from touchpoints.roles import JOURNEY_PERMISSIONS

    grant(JOURNEY_PERMISSIONS, LOYALTY_PERMISSIONS)
    touchpoint_catalogue()


def test_join_buy_see_the_points_and_redeem_a_reward(page, live_server, loyalty_roles, problems):
    # given: a programme (1 point per 100 JPY) with a 100-point reward, a customer, a manager logged in
    programme = programme_with_tiers(name="Tsunagu Club")
    RewardFactory(programme=programme, name="Free coffee", points_cost=100, stock=10)
    customer = CustomerFactory(family_name="Sato", given_name="Kenji")
    UserFactory(username="manager-e2e", first_name="Mariko", last_name="Manager", role="Manager")
    log_in(page, live_server, "manager-e2e")

    # when: they open the customer and join them to the programme from the loyalty panel
    page.goto(live_server.url + customer.get_absolute_url())
    panel = page.locator("#loyalty-panel")
    expect(panel).to_contain_text("Not a member of any loyalty programme.")
    panel.get_by_role("link", name="Join a programme").click()
    page.get_by_label("Programme").select_option(label="Tsunagu Club")
    page.get_by_role("button", name="Join").click()

    # then: the customer is a Regular member with no points yet
    expect(page.locator(".alert")).to_contain_text("joined Tsunagu Club")
    expect(panel.locator(".loyalty-tier")).to_have_text("Regular")
    expect(panel.locator(".loyalty-balance")).to_have_text("0")
    membership = Membership.objects.get(customer=customer)

    # when: they record a 12,800 JPY purchase with the quick log
    form = page.locator("#touchpoint-form")
    form.get_by_label("What happened").select_option(label="Transaction (Decision)")
    form.get_by_label("Channel").select_option(label="Store")
    form.get_by_label("Amount (yen)").fill("12800")
    form.get_by_role("button", name="Log touchpoint").click()
    expect(page.locator("#timeline .timeline-item[data-kind='touchpoint']").first).to_contain_text("¥12,800")

    # then: after a reload the panel shows the 128 points earned, and the timeline the ledger entry
    page.reload()
    expect(panel.locator(".loyalty-balance")).to_have_text("128")
    expect(page.locator("#timeline .timeline-item[data-kind='loyalty']").first).to_contain_text("+128 points")
    assert LedgerEntry.objects.get(membership=membership).points == 128

    # when: they redeem the free coffee (with a double click on the button)
    panel.get_by_role("link", name="Redeem").click()
    page.get_by_label("Reward").select_option(label="Free coffee — 100 points")
    page.get_by_role("button", name="Redeem").dblclick()

    # then: one voucher, 28 points left
    expect(page.locator(".alert")).to_contain_text("Voucher code")
    expect(page.locator("#membership-balance")).to_have_text("28")
    redemption = Redemption.objects.get(membership=membership)
    expect(page.locator("#redemption-list")).to_contain_text(redemption.voucher_code)
    assert Redemption.objects.count() == 1

    # and: nothing was blocked by the Content-Security-Policy, and no script failed
    assert problems == []
