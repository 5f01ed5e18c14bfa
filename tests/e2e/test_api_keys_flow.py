"""A manager makes an API key with only the scopes an integration needs, in a real headless Chromium; the key
then does only that (issue 16)."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.e2e.helpers import grant, log_in
from tests.factories import UserFactory
from touchpoints.models import ApiKey

pytestmark = pytest.mark.e2e


@pytest.fixture
def manager_user(staff_roles):
    from touchpoints.roles import JOURNEY_PERMISSIONS

    grant(JOURNEY_PERMISSIONS)
    return UserFactory(username="manager-e2e", first_name="Mariko", last_name="Manager", role="Manager")


def test_manager_makes_a_key_with_one_scope_and_it_can_do_only_that(page, live_server, manager_user, problems):
    # given: a manager on the API keys page
    log_in(page, live_server, "manager-e2e")
    page.goto(live_server.url + reverse("touchpoints:api_keys"))

    # when: they make a key for the till, allowed only to record touchpoints
    form = page.locator("#api-key-form")
    form.get_by_label("Name").fill("Till")
    form.get_by_label("Ingest (record touchpoints, open tickets)").check()
    form.get_by_role("button", name="Create key").click()

    # then: the key is shown once, and the table says what it may do
    key = page.locator("#new-api-key code").inner_text().strip()
    assert key.startswith("tsu_")
    row = page.locator("#api-key-table tbody tr", has_text="Till")
    expect(row).to_contain_text("Ingest (record touchpoints, open tickets)")
    expect(row).not_to_contain_text("Customers write")
    assert ApiKey.objects.get(name="Till").scopes == ["ingest"]

    # and: the key cannot write customers: a JSON 403 names the scope it lacks
    response = page.request.post(
        live_server.url + "/api/v1/customers/",
        data=json.dumps({"external_id": "T-1", "family_name": "X"}),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    assert response.status == 403 and response.json()["missing_scopes"] == ["customers:write"]

    # and: a key with no scope is refused on the page
    form = page.locator("#api-key-form")
    form.get_by_label("Name").fill("Nothing")
    form.get_by_role("button", name="Create key").click()
    expect(page.locator("#api-key-scopes")).to_contain_text("This field is required.")
    assert not ApiKey.objects.filter(name="Nothing").exists()
    assert problems == []
