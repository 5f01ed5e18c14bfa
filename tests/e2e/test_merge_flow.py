"""Issue 20, point 8: a support agent merges two records of one customer, choosing field by field, in a real
headless Chromium; the merged-away record's old link leads to the kept one."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from customers.models import Customer
from tests.e2e.helpers import log_in
from tests.factories import CustomerFactory

pytestmark = pytest.mark.e2e


def test_support_agent_compares_chooses_values_and_merges_two_records(page, live_server, support_user):
    # given: one customer typed twice, with a different email, phone and city
    older = CustomerFactory(
        family_name="Yamada",
        given_name="Hanako",
        email="hanako@example.com",
        phone="+819011112222",
        city="Shibuya",
        created_at=timezone.now() - dt.timedelta(days=30),
    )
    newer = CustomerFactory(
        family_name="Yamada",
        given_name="Hanako",
        email="hana.yamada@example.jp",
        phone="+819033334444",
        city="Shinjuku",
        created_at=timezone.now() - dt.timedelta(days=1),
    )
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    log_in(page, live_server, support_user.username)

    # when: she compares the two records
    page.goto(f"{live_server.url}{reverse('customers:merge')}?ids={older.pk}&ids={newer.pk}")

    # then: the differing fields are highlighted, the same ones are not
    expect(page.locator("tr.merge-differs")).to_have_count(3)  # email, phone, city (not the creation time)
    expect(page.locator('tr[data-field="email"]')).to_have_class("table-warning merge-differs")
    expect(page.locator("#merge-differences")).to_contain_text("3 fields differ")

    # when: she keeps the older record but takes the newer email and city, and confirms
    page.locator(f"#field-email-{newer.pk}").check()
    page.locator(f"#field-city-{newer.pk}").check()
    dialogs: list[str] = []
    page.once("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
    page.get_by_role("button", name="Merge").click()

    # then: she is on the kept record, which shows the chosen values and keeps the other email and phone
    expect(page.get_by_text("Customers merged.")).to_be_visible()
    assert dialogs == ["Merge these two records? This cannot be undone."]
    assert page.url.endswith(reverse("customers:detail", args=[older.pk]))
    expect(page.get_by_text("hana.yamada@example.jp", exact=True)).to_be_visible()
    expect(page.get_by_text("hanako@example.com", exact=True)).to_be_visible()  # as the other email
    expect(page.get_by_text("090-3333-4444", exact=True)).to_be_visible()  # as the other phone
    kept = Customer.objects.get(pk=older.pk)
    assert (kept.email, kept.secondary_email, kept.city) == ("hana.yamada@example.jp", "hanako@example.com", "Shinjuku")

    # and: the merged-away record's old link leads to the kept one
    page.goto(f"{live_server.url}{reverse('customers:detail', args=[newer.pk])}")
    assert page.url.endswith(reverse("customers:detail", args=[older.pk]))
    assert problems == []
