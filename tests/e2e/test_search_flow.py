"""The header's search in a real Chromium: a reference typed in goes to its ticket; a name in hiragana lists the
customer; nothing typed reaches the URL."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import log_in
from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.e2e


def test_searching_from_the_header(staff_roles, live_server, page, problems):
    from feedback.models import SlaPolicy
    from tests.factories import ticket_create

    if not SlaPolicy.objects.exists():  # seeded by a migration, flushed by transactional tests
        import importlib

        from django.apps import apps

        importlib.import_module("feedback.migrations.0002_seed_sla_calendar").forwards(apps, None)
    UserFactory(username="lead", first_name="美咲", last_name="高橋", is_superuser=True)
    customer = CustomerFactory(
        family_name="安藤", given_name="裕子", family_name_kana="アンドウ", given_name_kana="ユウコ"
    )
    ticket = ticket_create(customer, subject="急須の蓋が閉まりません")
    page.set_viewport_size({"width": 1366, "height": 900})
    log_in(page, live_server, "lead")

    # when: they open the search in the header and type a ticket's reference
    page.locator("#global-search-button").click()
    box = page.locator("#global-search-wide-q")
    box.fill(ticket.reference)
    box.press("Enter")

    # then: the ticket itself
    expect(page.locator("#ticket-subject")).to_contain_text("急須の蓋が閉まりません")

    # when: they search a name in hiragana
    page.locator("#global-search-button").click()
    page.locator("#global-search-wide-q").fill("あんどう")
    page.locator("#global-search-wide-q").press("Enter")

    # then: the customer, with no query in the address
    expect(page.locator("#search-customers")).to_contain_text("安藤 裕子")
    assert "あんどう" not in page.url and "%E3%81" not in page.url
    page.locator("#search-customers a").first.click()
    expect(page.locator("#customer-name")).to_have_text("安藤 裕子")
    assert problems == []
