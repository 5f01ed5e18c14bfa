"""Browser tests: Debian's Chromium (headless) against pytest-django's live server."""

from __future__ import annotations

import os

import pytest

# Playwright's sync API runs an event loop in the test thread; the ORM calls made by the tests and
# their fixtures are synchronous and safe there.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """Run the browser tests after every other database test.

    They use transactional_db, which empties every table afterwards, so a test running after them
    would find no roles (nor any other data-migration rows). pytest-django sorts transactional tests
    last, but pytest then regroups tests by pytest-playwright's session-scoped ``browser_name``
    parameter, which can pull the browser tests forward; this hook runs after both.
    """
    items.sort(key=lambda item: item.get_closest_marker("e2e") is not None)


@pytest.fixture(scope="session")
def browser_type_launch_args():
    """Launch the system Chromium (Playwright cannot download its own browser here), headless."""
    return {
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    """English pages whatever the machine's locale (LocaleMiddleware follows Accept-Language)."""
    return {**browser_context_args, "locale": "en-US", "viewport": {"width": 1280, "height": 900}}


@pytest.fixture
def problems(page) -> list[str]:
    """Console errors, script errors and dialogs: each is something a user or a developer would notice.

    A dialog is dismissed and recorded, so a markup payload that ran (``alert(1)``) fails the test.
    """
    seen: list[str] = []

    def on_dialog(dialog):
        seen.append(f"dialog: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("console", lambda msg: seen.append(f"console: {msg.text}") if msg.type == "error" else None)
    page.on("pageerror", lambda exc: seen.append(f"pageerror: {exc}"))
    return seen


@pytest.fixture
def staff_roles(transactional_db):
    """The Manager/Support/Marketing groups with the permissions customers.roles grants them.

    The data migration creates them, but transactional tests flush every table afterwards, so a
    browser test that runs after another one would find no groups.
    """
    from customers.roles import CUSTOMERS_PERMISSIONS
    from tests.e2e.helpers import grant

    grant(CUSTOMERS_PERMISSIONS)
    return CUSTOMERS_PERMISSIONS


@pytest.fixture
def support_user(staff_roles):
    from tests.factories import UserFactory

    return UserFactory(username="support-e2e", first_name="Sachiko", last_name="Support", role="Support")
