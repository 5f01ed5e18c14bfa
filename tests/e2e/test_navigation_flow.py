"""The main navigation in Japanese, in a real headless Chromium: chosen with the language menu, it stays on one line
at laptop widths and folds behind the menu button on narrower screens, never wider than the window."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import log_in
from tests.factories import UserFactory

pytestmark = pytest.mark.e2e


def fits_the_window(page, width: int) -> None:
    """No sideways scrolling, once the dashboard's charts have followed the window (they resize a moment later)."""
    for _attempt in range(50):
        if page.evaluate("document.documentElement.scrollWidth") <= width:
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"the page scrolls sideways at {width}px")


def test_the_japanese_menus_fit_the_window_at_every_width(page, live_server, problems):
    # given: someone who sees every menu, switching to Japanese the way the page offers
    UserFactory(username="owner", first_name="美咲", last_name="高橋", is_superuser=True)
    page.set_viewport_size({"width": 1366, "height": 800})
    log_in(page, live_server, "owner")
    page.locator("#language-switch").select_option("ja")
    expect(page.get_by_role("link", name="ホーム")).to_be_visible()

    for width in (1440, 1366, 1200):
        # when: the window is a laptop's
        page.set_viewport_size({"width": width, "height": 800})
        # then: one line of menus, the language menu and the user's menu inside the window
        home = page.get_by_role("link", name="ホーム").bounding_box()
        assert home["height"] < 45, f"ホーム wraps at {width}px"
        for element in (page.locator("#language-switch"), page.locator(".navbar .dropdown > .btn")):
            box = element.bounding_box()
            assert box["x"] + box["width"] <= width and box["width"] > 60, f"cut off at {width}px"
        fits_the_window(page, width)

    # and on a narrower screen the menus fold behind the menu button
    page.set_viewport_size({"width": 1024, "height": 800})
    fits_the_window(page, 1024)
    page.locator(".navbar-toggler").click()
    expect(page.get_by_role("link", name="ホーム")).to_be_visible()
    expect(page.locator("#language-switch")).to_be_visible()
    assert problems == []
