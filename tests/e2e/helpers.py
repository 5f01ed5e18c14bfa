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


def grant(*permission_maps: dict[str, list[str]]) -> None:
    """Give the staff roles these permissions (``{role: ["app.codename", …]}``): the data migrations granted them,
    but transactional tests flush every table afterwards."""
    from django.contrib.auth.models import Group, Permission

    for roles in permission_maps:
        for role, perms in roles.items():
            group, _created = Group.objects.get_or_create(name=role)
            for perm in perms:
                app_label, codename = perm.split(".")
                group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))


def touchpoint_catalogue() -> None:
    """The touchpoint types the catalogue migration seeds (flushed by transactional tests like the roles)."""
    import importlib

    from touchpoints.models import TouchpointType

    seed = importlib.import_module("touchpoints.migrations.0002_seed_touchpoint_types")
    for position, (slug, name, stage, kind, description) in enumerate(seed.TYPES, start=1):
        TouchpointType.objects.get_or_create(
            slug=slug,
            defaults={"name": name, "stage": stage, "kind": kind, "description": description, "position": position},
        )
