"""Browser test: a staff member turns on two-factor authentication from the Security page (QR code and secret),
keeps the backup codes, then logs in with the password and a code from the app (computed here as the app would)."""

from __future__ import annotations

import re
import time
from base64 import b32decode

import pytest
from django.urls import reverse
from django_otp.oath import TOTP
from playwright.sync_api import Page, expect

from tests.e2e.helpers import PASSWORD, log_in

pytestmark = pytest.mark.e2e


def app_code(secret: str, offset: int = 0) -> str:
    """What an authenticator app shows for ``secret`` (RFC 6238: SHA-1, six digits, 30 s)."""
    key = b32decode(secret.replace(" ", "") + "=" * (-len(secret.replace(" ", "")) % 8))
    totp = TOTP(key)
    totp.time = time.time() + offset
    return f"{totp.token():06d}"


def test_enrol_in_two_factor_then_log_in_with_a_code(page: Page, live_server, support_user, problems):
    # given: a support agent logged in with their password
    log_in(page, live_server, "support-e2e")

    # when: they open Security from their menu and set up two-factor authentication
    page.get_by_role("button", name=re.compile("Sachiko")).click()
    page.get_by_role("link", name="Security").click()
    expect(page.get_by_role("heading", name="Security")).to_be_visible()
    page.get_by_role("link", name="Set up two-factor authentication").click()

    # then: a QR code drawn on the page and the secret to type by hand
    expect(page.locator(".qr-code svg")).to_be_visible()
    secret = page.get_by_test_id("totp-secret").inner_text()
    assert re.fullmatch(r"[A-Z2-7 ]{16,}", secret)

    # when: they enter the code their app shows
    page.get_by_label("Code from the app").fill(app_code(secret))
    page.get_by_role("button", name="Turn on").click()

    # then: ten backup codes, shown once
    expect(page.get_by_role("heading", name="Backup codes")).to_be_visible()
    expect(page.get_by_test_id("backup-codes").locator("li")).to_have_count(10)
    page.get_by_role("link", name="I have saved them").click()
    expect(page.get_by_text("You log in with your password and a code")).to_be_visible()

    # when: they log out and log in again with their password
    page.get_by_role("button", name=re.compile("Sachiko")).click()
    page.get_by_role("button", name="Log out").click()
    page.goto(live_server.url + reverse("login"))
    page.get_by_label("Username").fill("support-e2e")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    # then: the code is asked for; a wrong one is refused
    expect(page.get_by_text("Enter the code from your authenticator app.")).to_be_visible()
    page.get_by_label("Code").fill("12345678")
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_text("That code is not right")).to_be_visible()

    # when: the app's next code (the one used to enrol cannot be used twice; django-otp's throttle wants a pause)
    time.sleep(1.2)
    page.get_by_label("Code").fill(app_code(secret, offset=30))
    page.get_by_role("button", name="Verify").click()

    # then: they are in
    expect(page.get_by_role("heading", name=re.compile(r"^Welcome"))).to_be_visible()
    assert problems == []
