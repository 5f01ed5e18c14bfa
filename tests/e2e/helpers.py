"""Helpers shared by the browser tests."""

from __future__ import annotations

import re

from django.urls import reverse
from playwright.sync_api import Page, expect

PASSWORD = "tsunagu-test"  # UserFactory's password


def log_in(page: Page, live_server, username: str) -> None:
    """Log in through the login form and wait for the home page."""
    page.goto(live_server.url + reverse("login"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name=re.compile(r"^Welcome"))).to_be_visible()
