"""The member card and the till in a real headless Chromium: a member opens their card on a phone from the mailed
link, sees the balance and the QR code, and redeems a reward; a cashier scans (types) a card token at the till,
records a purchase, sees the balance move, and redeems a reward."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from loyalty import services
from loyalty.models import Redemption
from loyalty.services import cards
from tests.e2e.helpers import grant, log_in, touchpoint_catalogue
from tests.factories import CustomerFactory, RewardFactory, member_join, programme_with_tiers
from touchpoints.outreach.models import OutboundMessage

pytestmark = pytest.mark.e2e

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
TABLET = {"viewport": {"width": 1024, "height": 768}, "has_touch": True}


def watch(page) -> list[str]:
    seen: list[str] = []
    page.on("console", lambda msg: seen.append(f"console: {msg.text}") if msg.type == "error" else None)
    page.on("pageerror", lambda exc: seen.append(f"pageerror: {exc}"))
    page.on("dialog", lambda dialog: (seen.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    return seen


@pytest.fixture
def card_roles(staff_roles):
    from loyalty.roles import CARD_PERMISSIONS, LOYALTY_PERMISSIONS
    from touchpoints.roles import JOURNEY_PERMISSIONS

    grant(JOURNEY_PERMISSIONS, LOYALTY_PERMISSIONS, CARD_PERMISSIONS)
    touchpoint_catalogue()


def test_a_member_opens_the_card_from_the_mailed_link_and_redeems(browser, live_server, settings, card_roles):
    # given: a member with 500 points, a 200-point reward, and the card link mailed to them
    settings.TSUNAGU_BASE_URL = live_server.url
    programme = programme_with_tiers(name="Tsunagu Club")
    RewardFactory(programme=programme, name="Free coffee", points_cost=200, stock=10)
    membership = member_join(CustomerFactory(family_name="Sato", given_name="Hanako"), programme)
    services.points_adjust(membership=membership, points=500, reason="Welcome gift", key="gift")
    cards.card_link_send(membership=membership)
    link = re.search(r"http://\S+/m/open/\S+/", OutboundMessage.objects.get(customer=membership.customer).body)[0]

    context = browser.new_context(locale="en-US", **PHONE)
    page = context.new_page()
    problems = watch(page)

    # when: they open the link on their phone
    page.goto(link)

    # then: the card, with the balance, the tier and a QR code that drew, fits the phone's width
    expect(page.locator("#card-balance")).to_have_text("500")
    expect(page.locator("#card-tier")).to_have_text("Regular")
    expect(page.locator("#card-number")).to_have_text(membership.member_number)
    qr = page.locator("#card-qr")
    expect(qr).to_be_visible()
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert "/m/open/" not in page.url  # the token left the address bar

    # when: they pick the coffee and confirm (with a double tap)
    page.get_by_text("Free coffee").click()
    page.get_by_role("button", name="Redeem for 200 points").dblclick()

    # then: a voucher on screen, one redemption, 300 points left
    expect(page.locator("#voucher-code")).to_be_visible()
    redemption = Redemption.objects.get(membership=membership)
    expect(page.locator("#voucher-code")).to_have_text(redemption.voucher_code)
    assert redemption.source == "card"
    page.get_by_role("link", name="Back to my card").click()
    expect(page.locator("#card-balance")).to_have_text("300")
    assert Redemption.objects.count() == 1
    assert problems == []
    context.close()


def test_the_till_scans_a_card_records_a_purchase_and_redeems(browser, live_server, card_roles):
    # given: a member with no points, their card's token, a 100-point reward, a cashier at the tablet
    from tests.factories import UserFactory

    programme = programme_with_tiers(name="Tsunagu Club")
    RewardFactory(programme=programme, name="Tote bag", points_cost=100)
    membership = member_join(CustomerFactory(family_name="Suzuki", given_name="Ken"), programme)
    token = cards.card_token(cards.card_for(membership))
    UserFactory(username="cashier", role="Support")
    context = browser.new_context(locale="en-US", **TABLET)
    page = context.new_page()
    problems = watch(page)
    log_in(page, live_server, "cashier")

    # when: they open the till and the scanner types the token, then Enter
    page.goto(live_server.url + "/loyalty/till/")
    field = page.get_by_label("Scan the card or type the member number")
    expect(field).to_be_focused()
    field.type(token)
    field.press("Enter")

    # then: the member's screen
    expect(page.locator("#till-card")).to_contain_text("Suzuki")
    expect(page.locator("#till-balance")).to_have_text("0")

    # when: they record a 12,800 JPY purchase
    page.get_by_label("Amount (JPY)").fill("12800")
    page.get_by_label("Order reference").fill("R-100")
    page.get_by_role("button", name="Record purchase").click()

    # then: the balance moves to 128
    expect(page.locator(".alert")).to_contain_text("Purchase of 12,800 JPY recorded.")
    expect(page.locator("#till-balance")).to_have_text("128")

    # when: they pick the tote bag and press Redeem
    page.locator("#till-redeem").get_by_text("Tote bag").click()
    page.locator("#till-redeem").get_by_role("button", name="Redeem", exact=True).click()

    # then: 28 points left and the voucher code shown
    redemption = Redemption.objects.get(membership=membership)
    expect(page.locator(".alert")).to_contain_text(redemption.voucher_code)
    expect(page.locator("#till-balance")).to_have_text("28")
    assert problems == []
    context.close()
