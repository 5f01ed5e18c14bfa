"""A manager handles a customer's privacy requests in a real browser: records a disclosure request from the customer
page and downloads the archive, then records an erasure request and confirms it by typing the customer's number."""

from __future__ import annotations

import json
import zipfile

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.e2e.helpers import grant, log_in
from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.e2e


def test_a_manager_downloads_a_disclosure_then_erases_the_customer(page, live_server, staff_roles, problems):
    # given: a manager (the privacy permissions, flushed by transactional tests, granted again) and a customer
    from crm.audit.models import AccessRecord
    from crm.dataprotection.roles import DATAPROTECTION_PERMISSIONS
    from crm.insights.roles import INSIGHTS_PERMISSIONS

    grant(DATAPROTECTION_PERMISSIONS, INSIGHTS_PERMISSIONS)
    customer = CustomerFactory(family_name="Sato", given_name="Hanako", email="hanako.sato@example.jp")
    UserFactory(username="manager-e2e", first_name="Mariko", last_name="Manager", role="Manager")
    log_in(page, live_server, "manager-e2e")

    # when: they record a disclosure request from the customer page
    page.goto(live_server.url + reverse("customers:detail", args=[customer.pk]))
    page.locator("#privacy-panel").get_by_role("link", name="Record a disclosure request").click()
    page.get_by_label("Received via").select_option("letter")
    page.get_by_label("Note").fill("Identity checked against a driving licence copy")
    page.get_by_role("button", name="Record the request").click()
    expect(page.locator("#request-status")).to_have_text("Received")

    # and: download the archive
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download the archive").click()
    download = download_info.value

    # then: a ZIP with the customer's data, named without it; the request completed; the export logged
    assert download.suggested_filename.startswith("disclosure-") and "sato" not in download.suggested_filename
    archive = zipfile.ZipFile(download.path())
    document = json.loads(archive.read("customer.json"))
    assert document["sections"]["profile"][0]["email"] == "hanako.sato@example.jp"
    assert "profile.csv" in archive.namelist()
    page.reload()
    expect(page.locator("#request-status")).to_have_text("Completed")
    assert AccessRecord.objects.filter(how="export", customer_ids=[customer.pk]).count() == 1

    # when: they record an erasure request, and confirm it first with a wrong number, then with the right one
    page.goto(live_server.url + reverse("customers:detail", args=[customer.pk]))
    page.locator("#privacy-panel").get_by_role("link", name="Record an erasure request").click()
    page.get_by_label("Received via").select_option("email")
    page.get_by_role("button", name="Record the request").click()
    page.get_by_label("Type the customer's number to confirm").fill("0")
    page.get_by_role("button", name="Erase the personal data").click()
    expect(page.locator("#erasure-form")).to_contain_text("Type the customer's number exactly as shown")
    page.get_by_label("Type the customer's number to confirm").fill(str(customer.pk))
    page.get_by_role("button", name="Erase the personal data").click()

    # then: the request is completed and the customer is anonymised
    expect(page.locator("#request-status")).to_have_text("Completed")
    expect(page.locator("#request-customer")).to_have_text("[erased]")
    customer.refresh_from_db()
    assert customer.email == "" and customer.given_name == ""

    # and: the list shows both requests, handled by the manager
    page.goto(live_server.url + reverse("dataprotection:list"))
    expect(page.locator("#request-list tbody tr")).to_have_count(2)
    expect(page.locator("#request-list")).to_contain_text("manager-e2e")
    assert problems == []
