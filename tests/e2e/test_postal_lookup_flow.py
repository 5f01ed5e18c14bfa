"""Issue 20, point 14: on the customer form, typing a postal code fills in the prefecture, city and town from
Japan Post's data (served by the app, no network), in a real headless Chromium."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.e2e.helpers import log_in

pytestmark = pytest.mark.e2e


def test_typing_a_postal_code_fills_the_address(page, live_server, support_user):
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    log_in(page, live_server, support_user.username)
    page.goto(live_server.url + reverse("customers:create"))

    # when: a postal code is typed full width, as a Japanese keyboard may
    page.locator("#id_postal_code").fill("１５０－０００２")
    page.locator("#id_postal_code").press("Tab")

    # then: the prefecture (chosen in the select, shown in English here), the city and the town are filled
    expect(page.locator("#id_region")).to_have_value("東京都")
    expect(page.locator("#id_region option:checked")).to_have_text("Tokyo")
    expect(page.locator("#id_city")).to_have_value("渋谷区")
    expect(page.locator("#id_address_line1")).to_have_value("渋谷")
    expect(page.locator("#id_postal_code")).to_have_value("150-0002")
    assert errors == []
