"""Wallet passes and staff-recorded contact preferences in a real headless Chromium: without wallet settings the
card shows no wallet button; with them (a self-made certificate chain) a member downloads the Apple pass, which
holds their balance and card token, and the Google button leads to Google's save page with a signed JWT; a cashier
hands the card over from the till as a QR code whose link opens the card at its wallet buttons on a new phone; a
support agent records a customer's preferences on the customer page, and marketing only reads them."""

from __future__ import annotations

import io
import json
import zipfile

import jwt
import pytest
from playwright.sync_api import expect

from customers import consent
from customers.models import ContactPreference
from loyalty import services
from loyalty.roles import CARD_PERMISSIONS, LOYALTY_PERMISSIONS
from loyalty.services import cards
from loyalty.wallet.config import config_forget
from tests.e2e.helpers import grant, log_in
from tests.factories import CustomerFactory, UserFactory, member_join, programme_with_tiers
from tests.wallet_standins import google_key_file, wallet_secrets

pytestmark = pytest.mark.e2e

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}


def test_the_wallet_buttons_appear_when_configured_and_the_pass_downloads(
    browser, live_server, settings, staff_roles, tmp_path
):
    # given: a member with 320 points and their card link
    settings.TSUNAGU_BASE_URL = live_server.url
    membership = member_join(CustomerFactory(family_name="Sato", given_name="Hanako"), programme_with_tiers())
    services.points_adjust(membership=membership, points=320, reason="Welcome gift", key="gift")
    card = cards.card_for(membership)
    context = browser.new_context(locale="en-US", accept_downloads=True, **PHONE)
    page = context.new_page()

    # when: no wallet is configured, then: the card shows no wallet button
    config_forget()
    page.goto(cards.card_link(card))
    expect(page.locator("#card-balance")).to_have_text("320")
    expect(page.locator("#card-wallet")).to_have_count(0)

    # when: both wallets are configured (a self-made certificate chain and service account)
    made = wallet_secrets(tmp_path)
    settings.TSUNAGU_APPLE_PASS_TYPE_ID = "pass.test.tsunagu"
    settings.TSUNAGU_APPLE_TEAM_ID = "TEAM123456"
    settings.TSUNAGU_APPLE_PASS_CERT_FILE = str(tmp_path / "pass.pem")
    settings.TSUNAGU_APPLE_PASS_KEY_FILE = str(tmp_path / "pass.key")
    settings.TSUNAGU_APPLE_WWDR_CERT_FILE = str(tmp_path / "wwdr.pem")
    settings.TSUNAGU_GOOGLE_WALLET_ISSUER_ID = "3388000000000000001"
    settings.TSUNAGU_GOOGLE_WALLET_KEY_FILE = str(google_key_file(tmp_path, made, "http://127.0.0.1:9/token"))
    config_forget()
    try:
        page.reload()

        # then: both buttons; the Apple one downloads a pass with the balance and the card's token
        expect(page.locator("#wallet-apple")).to_be_visible()
        expect(page.locator("#wallet-google")).to_be_visible()
        with page.expect_download() as download_info:
            page.locator("#wallet-apple").click()
        download = download_info.value
        assert download.suggested_filename == "card.pkpass"
        with zipfile.ZipFile(io.BytesIO(open(download.path(), "rb").read())) as archive:  # noqa: PTH123, SIM115
            data = json.loads(archive.read("pass.json"))
            assert {"manifest.json", "signature", "icon.png"} <= set(archive.namelist())
        assert data["storeCard"]["primaryFields"][0]["value"] == 320
        assert data["barcodes"][0]["message"] == cards.card_token(card)

        # and the Google one answers with Google's save page and a JWT signed by the service account
        answer = page.request.get(
            live_server.url + page.locator("#wallet-google").get_attribute("href"), max_redirects=0
        )
        assert answer.status == 302
        location = answer.headers["location"]
        assert location.startswith("https://pay.google.com/gp/v/save/")
        claims = jwt.decode(location.rsplit("/", 1)[1], made["google_public"], algorithms=["RS256"], audience="google")
        assert claims["payload"]["loyaltyObjects"][0]["loyaltyPoints"]["balance"]["int"] == 320
        assert page.evaluate("document.documentElement.scrollWidth") <= 390

        # when: a cashier at the till opens the member's screen and presses the wallet button
        grant(LOYALTY_PERMISSIONS, CARD_PERMISSIONS)
        UserFactory(username="cashier", role="Support")
        till = browser.new_context(locale="en-US", viewport={"width": 1024, "height": 768})
        counter = till.new_page()
        log_in(counter, live_server, "cashier")
        counter.goto(live_server.url + f"/loyalty/till/members/{membership.pk}/")
        counter.locator("#till-wallet").click()

        # then: a QR code of a short-lived link, and the way back to the till
        expect(counter.locator("#handover-qr-image")).to_be_visible()
        expect(counter.locator("#handover-google")).to_be_visible()
        link = counter.locator("#handover-link").input_value()
        counter.locator("#handover-back").click()
        expect(counter.locator("#till-card")).to_contain_text("Sato")
        till.close()

        # and a new phone that scans it lands on the card's wallet buttons
        phone = browser.new_context(locale="en-US", **PHONE)
        scanned = phone.new_page()
        scanned.goto(link)
        expect(scanned.locator("#wallet-apple")).to_be_visible()
        assert scanned.url.endswith("/m/card/#card-wallet")
        phone.close()
    finally:
        config_forget()
        context.close()


def test_support_records_preferences_on_the_customer_page(page, live_server, support_user, problems):
    from customers.roles import PREFERENCE_PERMISSIONS

    grant(PREFERENCE_PERMISSIONS)
    # given: a customer with the marketing consent who never chose anything
    customer = CustomerFactory(family_name="Sato", given_name="Kenji", marketing_consent=True, preferred_language="ja")
    log_in(page, live_server, "support-e2e")
    page.goto(live_server.url + customer.get_absolute_url())
    grid = page.locator("#contact-preferences")
    expect(grid).to_be_visible()

    # when: the customer asks by phone for no surveys by SMS and mail in English
    page.locator("#pref_sms_surveys").uncheck()
    page.locator("#pref-language").select_option("en")
    page.locator("#pref-evidence").fill("By phone on 3 May")
    page.locator("#preferences-save").click()

    # then: saved; the cell shows the choice with when and how; the history lists it
    expect(page.get_by_role("alert")).to_contain_text("Contact preferences saved.")
    cell = page.locator('tr[data-cell="sms-surveys"]')
    expect(cell).to_contain_text("Staff, at the customer's request")
    expect(cell).to_contain_text("By phone on 3 May")
    expect(page.locator("#pref_sms_surveys")).not_to_be_checked()
    assert not consent.allows(customer, "sms", "surveys")
    row = ContactPreference.objects.get(customer=customer)
    assert row.source == "staff" and row.evidence.endswith("By phone on 3 May")
    customer.refresh_from_db()
    assert customer.preferred_language == "en"
    page.locator("#preferences-history").click()
    expect(page.locator("#preference-history")).to_contain_text("By phone on 3 May")
    assert problems == []
