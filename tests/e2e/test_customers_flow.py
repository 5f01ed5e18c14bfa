"""A support agent's day with customers, in a real headless Chromium against the live server."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from playwright.sync_api import Page, expect

from customers.models import Customer
from tests.e2e.helpers import PASSWORD
from tests.factories import CustomerFactory, NoteFactory

pytestmark = pytest.mark.e2e

SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
SCRIPT_PAYLOAD = "<script>alert(1)</script>"
IMG_PAYLOAD = "<img src=x onerror=alert(1)>"


@dataclass
class BrowserLog:
    dialogs: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    @property
    def csp_errors(self) -> list[str]:
        return [m for m in self.console_errors if "content security policy" in m.lower() or "content-security" in m]


@pytest.fixture
def browser_log(page: Page) -> BrowserLog:
    """Everything the page says that a user or a developer would notice: dialogs, console errors, JS errors."""
    log = BrowserLog()

    def on_dialog(dialog):
        log.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("console", lambda msg: log.console_errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: log.page_errors.append(str(exc)))
    return log


def log_in(page: Page, live_server, username: str) -> None:
    response = page.goto(live_server.url + reverse("login"))
    # the pages are served with a strict policy, so the console checks below mean something
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name=re.compile(r"^Welcome"))).to_be_visible()


def mark_page(page: Page) -> None:
    """Leave a mark on the current document; it survives htmx swaps but not a full page load."""
    page.evaluate("window.__tsunaguSamePage = true")


def still_same_page(page: Page) -> bool:
    return page.evaluate("window.__tsunaguSamePage === true")


def fill_customer_form(page: Page, **values: str) -> None:
    for name, value in values.items():
        page.locator(f"#id_{name}").fill(value)


def test_support_agent_finds_opens_creates_edits_and_annotates_customers(page, live_server, support_user, browser_log):
    # given: two customers in the CRM and a support agent at the login page
    CustomerFactory(
        family_name="Yamada",
        given_name="Taro",
        family_name_kana="ヤマダ",
        given_name_kana="タロウ",
        email="taro.yamada@example.com",
    )
    CustomerFactory(family_name="Suzuki", given_name="Hanako", email="hanako@example.com")

    # when: the agent logs in through the form and opens the customer list from the menu
    log_in(page, live_server, "support-e2e")
    page.get_by_role("button", name="Customers").click()
    page.get_by_role("link", name="All customers").click()
    results = page.locator("#customer-results")
    expect(results).to_contain_text("Taro Yamada")
    expect(results).to_contain_text("Hanako Suzuki")

    # when: they type a name in the search box
    mark_page(page)
    page.get_by_label("Search", exact=True).press_sequentially("yamada", delay=40)

    # then: the results narrow down while they type, without a page load; the URL carries a token, not the name
    expect(results).not_to_contain_text("Hanako Suzuki")
    expect(results).to_contain_text("Taro Yamada")
    expect(results).to_contain_text("1 customer")
    expect(page).to_have_url(re.compile(r"[?&]s=[\w-]+"))
    assert "yamada" not in page.url.lower()
    assert still_same_page(page)

    # and: a reload of that URL shows the same search
    page.reload()
    expect(results).to_contain_text("1 customer")
    expect(page.get_by_label("Search", exact=True)).to_have_value("yamada")

    # when: they open the customer
    results.get_by_role("link", name="Taro Yamada").click()

    # then: the customer page shows the name and its kana reading
    expect(page.locator("#customer-name")).to_have_text("Taro Yamada")
    expect(page.locator(".kana").first).to_have_text("ヤマダ タロウ")

    # when: they create a new customer through the form
    page.goto(live_server.url + reverse("customers:list"))
    page.get_by_role("link", name="New customer").first.click()
    fill_customer_form(
        page,
        family_name="Tanaka",
        given_name="Ichiro",
        family_name_kana="タナカ",
        given_name_kana="イチロウ",
        email="Ichiro.Tanaka@Example.COM",
        phone="090-1234-5678",
    )
    page.get_by_role("button", name="Save customer").click()

    # then: they land on the new customer's page; email is lower-cased, the phone shown in national format
    expect(page.get_by_role("alert")).to_contain_text("Customer created.")
    expect(page.locator("#customer-name")).to_have_text("Ichiro Tanaka")
    profile = page.locator("dl")
    expect(profile).to_contain_text("ichiro.tanaka@example.com")
    expect(profile).to_contain_text("090-1234-5678")
    expect(profile).not_to_contain_text("+81")
    customer = Customer.objects.get(email="ichiro.tanaka@example.com")
    assert customer.phone == "+819012345678"
    assert page.url == live_server.url + customer.get_absolute_url()

    # when: they edit it
    page.get_by_role("link", name="Edit").click()
    fill_customer_form(page, company="Tanaka Shoten", phone="03-1234-5678")
    page.get_by_role("button", name="Save customer").click()

    # then: the changes are shown
    expect(page.get_by_role("alert")).to_contain_text("Changes saved.")
    expect(profile).to_contain_text("Tanaka Shoten")
    expect(profile).to_contain_text("03-1234-5678")

    # when: they add a note on the customer page
    mark_page(page)
    page.get_by_label("Add a note").fill("Called: prefers weekend deliveries.")
    page.get_by_role("button", name="Save note").click()

    # then: the note tops the timeline without a reload, and the form is cleared for the next one
    first_item = page.locator("#timeline .timeline-item").first
    expect(first_item).to_contain_text("Called: prefers weekend deliveries.")
    expect(first_item).to_contain_text("Sachiko Support")
    expect(page.get_by_label("Add a note")).to_have_value("")
    assert still_same_page(page)
    assert customer.notes.get().body == "Called: prefers weekend deliveries."

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "customer_detail.png"), full_page=True)

    # and: the Content-Security-Policy blocked nothing the pages needed, and no script failed
    assert browser_log.csp_errors == []
    assert browser_log.page_errors == []
    assert browser_log.dialogs == []


def test_markup_typed_into_names_and_notes_is_shown_as_text_and_never_runs(
    page, live_server, support_user, browser_log
):
    # given: a customer whose name and note hold script and image-tag payloads
    customer = CustomerFactory(family_name=SCRIPT_PAYLOAD, given_name=IMG_PAYLOAD, email="xss@example.com")
    NoteFactory(customer=customer, author=support_user, body=f"{SCRIPT_PAYLOAD} and {IMG_PAYLOAD}")
    log_in(page, live_server, "support-e2e")

    # when: the agent searches for it in the list
    page.goto(live_server.url + reverse("customers:list"))
    page.get_by_label("Search", exact=True).press_sequentially("xss@", delay=40)
    results = page.locator("#customer-results")
    expect(results).to_contain_text("1 customer")

    # then: the list shows the payloads as text
    expect(results).to_contain_text(f"{IMG_PAYLOAD} {SCRIPT_PAYLOAD}")

    # when: they open the customer and add a note with the same payloads (the htmx swap path)
    results.get_by_role("link").first.click()
    page.get_by_label("Add a note").fill(f"again: {IMG_PAYLOAD}{SCRIPT_PAYLOAD}")
    page.get_by_role("button", name="Save note").click()

    # then: the name, the old note and the new note read exactly as typed
    expect(page.locator("#timeline .timeline-item").first).to_contain_text(f"again: {IMG_PAYLOAD}{SCRIPT_PAYLOAD}")
    expect(page.locator("#customer-name")).to_have_text(f"{IMG_PAYLOAD} {SCRIPT_PAYLOAD}")
    expect(page.locator("#timeline")).to_contain_text(f"{SCRIPT_PAYLOAD} and {IMG_PAYLOAD}")

    # and: no element was created from them and nothing ran (no alert dialog, nothing blocked by the CSP)
    assert page.locator("main img[src='x']").count() == 0
    assert page.locator("main script").count() == 0
    page.reload()
    expect(page.locator("#customer-name")).to_have_text(f"{IMG_PAYLOAD} {SCRIPT_PAYLOAD}")
    assert browser_log.dialogs == []
    assert browser_log.csp_errors == []
    assert browser_log.page_errors == []


def test_first_note_replaces_the_empty_timeline_message(page, live_server, support_user, browser_log):
    # given: a customer with nothing on the timeline yet
    customer = CustomerFactory(family_name="Kato", given_name="Mai")
    log_in(page, live_server, "support-e2e")
    page.goto(live_server.url + customer.get_absolute_url())
    empty_message = page.get_by_text("Nothing has happened with this customer yet.")
    expect(empty_message).to_be_visible()

    # when: the agent adds the first note
    page.get_by_label("Add a note").fill("First contact at the store.")
    page.get_by_role("button", name="Save note").click()

    # then: the note is shown and the timeline no longer claims nothing has happened
    expect(page.locator("#timeline .timeline-item").first).to_contain_text("First contact at the store.")
    expect(empty_message).to_be_hidden()
