"""The main navigation is rendered once per role, language and section (crm/templatetags/nav_tags.py): each user
still sees their own menus, in their language, with the current section marked, and a change of permissions shows
at once. The backend that loads users and permissions with precompiled SQL answers as Django's own does."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.urls import reverse
from django.utils import translation

from crm.auth import PermissionBackend
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english_afterwards():
    """A request in Japanese leaves the thread in Japanese (LocaleMiddleware activates it): later tests read English."""
    with translation.override("en"):
        yield


def menus(body: str) -> str:
    """The navbar's menus (up to the language switch, whose form holds the request's CSRF token)."""
    start = body.index('<ul class="navbar-nav me-auto">')
    return body[start : body.index("<form", start)]


def active_menus(body: str) -> list[str]:
    return re.findall(r'class="nav-link(?: dropdown-toggle)? active"[^>]*>([^<]+)<', menus(body))


def test_each_role_sees_its_own_menus_after_another_role_filled_the_cache(client):
    # Given a manager, a support agent and a marketer, each of whom loads the same page in turn
    pages = {}
    for role in ["Manager", "Support", "Marketing", "Manager"]:
        client.force_login(UserFactory(username=role.lower(), role=role))
        pages.setdefault(role, []).append(menus(client.get(reverse("feedback:surveys")).content.decode()))
    manager, support, marketing = pages["Manager"][0], pages["Support"][0], pages["Marketing"][0]

    # Then each sees the links of their role, and the manager sees the same menus both times
    assert pages["Manager"][0] == pages["Manager"][1]
    assert reverse("feedback:queue") in support and reverse("feedback:canned") in support
    assert reverse("customers:import") not in support and reverse("insights:cohorts") not in support
    assert reverse("feedback:surveys") in marketing and reverse("customers:import") in marketing
    assert reverse("feedback:queue") not in marketing and reverse("feedback:canned") not in marketing
    assert all(reverse(name) in manager for name in ("feedback:queue", "customers:import", "insights:cohorts"))


def test_a_permission_granted_shows_in_the_menus_on_the_next_page(client):
    # Given a support agent whose menus have been rendered once
    agent = UserFactory(username="agent", role="Support")
    client.force_login(agent)
    assert reverse("customers:import") not in menus(client.get(reverse("home")).content.decode())

    # When their group is allowed to import customers
    Group.objects.get(name="Support").permissions.add(
        Permission.objects.get(content_type__app_label="customers", codename="import_customer")
    )

    # Then the next page offers the import
    assert reverse("customers:import") in menus(client.get(reverse("home")).content.decode())


def test_the_menu_of_the_current_section_is_marked_active(client):
    client.force_login(UserFactory(username="boss", role="Manager"))

    assert active_menus(client.get(reverse("home")).content.decode()) == ["Home"]
    assert active_menus(client.get(reverse("feedback:queue")).content.decode()) == ["Feedback"]
    assert active_menus(client.get(reverse("outreach:tasks")).content.decode()) == ["Journey", "Outreach"]
    assert active_menus(client.get(reverse("insights:about")).content.decode()) == ["Insights"]
    assert active_menus(client.get(reverse("feedback:queue")).content.decode()) == ["Feedback"]


def test_the_menus_follow_the_language(client):
    client.force_login(UserFactory(username="boss", role="Manager"))
    english = menus(client.get(reverse("feedback:queue"), headers={"Accept-Language": "en"}).content.decode())
    japanese = menus(client.get(reverse("feedback:queue"), headers={"Accept-Language": "ja"}).content.decode())

    assert ">Tickets<" in english and ">Tickets<" not in japanese
    assert english.count("dropdown-item") == japanese.count("dropdown-item")


def test_the_backend_loads_users_and_permissions_as_djangos_does():
    # Given a user with a role and a permission of their own, a superuser and an inactive user
    agent = UserFactory(username="agent", role="Support")
    agent.user_permissions.add(Permission.objects.get(content_type__app_label="feedback", codename="view_survey"))
    boss = UserFactory(username="root", is_superuser=True)
    gone = UserFactory(username="gone", role="Support", is_active=False)
    ours, django = PermissionBackend(), ModelBackend()

    for user in (agent, boss):
        # Then the user from the session id is the same, field by field
        loaded = ours.get_user(str(user.pk))
        fields = [f.attname for f in user._meta.concrete_fields]
        assert [getattr(loaded, f) for f in fields] == [getattr(django.get_user(user.pk), f) for f in fields]
        assert loaded._state.db == "default" and not loaded._state.adding
        # And so are the permissions, from the group and the user's own
        assert ours.get_all_permissions(ours.get_user(user.pk)) == django.get_all_permissions(django.get_user(user.pk))
    assert "feedback.view_survey" in ours.get_all_permissions(ours.get_user(agent.pk))
    # And nobody is loaded for an inactive user, an unknown id or a malformed one
    assert ours.get_user(gone.pk) is None
    assert ours.get_user(gone.pk + 1000) is None
    assert ours.get_user("not a number") is None
