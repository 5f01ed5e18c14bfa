"""Importing customers in a real headless Chromium: the preview names its encoding, a file whose plan changed
before it was applied is refused with the new preview shown, and the new preview then applies."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from customers.models import Customer
from tests.e2e.helpers import log_in
from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.e2e

CSV = "external_id,email,family_name,given_name\nA1,a@example.com,山田,太郎\nA2,b@example.com,佐藤,花子\n"


def test_a_preview_whose_data_changed_is_refused_then_the_new_preview_applies(page, live_server, staff_roles, tmp_path):
    UserFactory(username="manager-e2e", role="Manager")
    path = tmp_path / "customers.csv"
    path.write_bytes(CSV.encode("cp932"))

    # given: a manager previews a Shift_JIS file that creates two customers
    log_in(page, live_server, "manager-e2e")
    page.goto(live_server.url + reverse("customers:import"))
    page.get_by_label("CSV file").set_input_files(str(path))
    page.get_by_role("button", name="Check file").click()
    expect(page.locator("dl")).to_contain_text("cp932")
    expect(page.locator("dl")).to_contain_text("Would create")

    # when: a colleague creates one of them meanwhile, and the manager applies the preview
    CustomerFactory(email="b@example.com", external_id="")
    page.get_by_role("button", name="Import 2 rows").click()

    # then: nothing is written, the page says the data changed and shows the new plan (1 new, 1 update)
    expect(page.locator(".alert-danger, .alert-error").first).to_contain_text("The data changed since the preview")
    assert Customer.objects.count() == 1
    expect(page.locator("tbody")).to_contain_text("Update")

    # when: they apply the new preview
    page.get_by_role("button", name="Import 2 rows").click()

    # then
    expect(page.locator(".alert-success").first).to_contain_text("1 created, 1 updated")
    assert Customer.objects.count() == 2
