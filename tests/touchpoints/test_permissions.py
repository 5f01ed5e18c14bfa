"""One walk over every journey URL with every role (RELIABILITY.md: checks on view but not on edit)."""

import pytest
from django.urls import reverse

from tests.factories import CustomerFactory, UserFactory, api_key_create
from touchpoints.models import TouchpointType

pytestmark = pytest.mark.django_db

ROLES = ["Support", "Marketing", "Manager", None]


def urls():
    customer = CustomerFactory()
    touchpoint_type = TouchpointType.objects.get(slug="research")
    api_key, _raw = api_key_create()
    return {
        # name: (method, url, {role: allowed}), allowed responses are 200 or 302
        "list": ("get", reverse("touchpoints:list"), {"Support", "Marketing", "Manager"}),
        "funnel": ("get", reverse("touchpoints:funnel"), {"Marketing", "Manager"}),
        "log": ("post", reverse("touchpoints:log", args=[customer.pk]), {"Support", "Marketing", "Manager"}),
        "move": ("post", reverse("touchpoints:journey_move", args=[customer.pk]), {"Marketing", "Manager"}),
        "types": ("get", reverse("touchpoints:types"), {"Support", "Marketing", "Manager"}),
        "type_create": ("get", reverse("touchpoints:type_create"), {"Marketing", "Manager"}),
        "type_create_post": ("post", reverse("touchpoints:type_create"), {"Marketing", "Manager"}),
        "type_update": ("get", reverse("touchpoints:type_update", args=[touchpoint_type.pk]), {"Marketing", "Manager"}),
        "type_update_post": (
            "post",
            reverse("touchpoints:type_update", args=[touchpoint_type.pk]),
            {"Marketing", "Manager"},
        ),
        "api_keys": ("get", reverse("touchpoints:api_keys"), {"Manager"}),
        "api_key_create": ("post", reverse("touchpoints:api_keys"), {"Manager"}),
        "api_key_revoke": ("post", reverse("touchpoints:api_key_revoke", args=[api_key.pk]), {"Manager"}),
        "api_docs": ("get", reverse("api_docs"), {"Support", "Marketing", "Manager", None}),
    }


@pytest.mark.parametrize("role", ROLES)
def test_every_journey_url_with_every_role(client, role):
    user = UserFactory(username=f"user-{role}", role=role)
    client.force_login(user)
    for name, (method, url, allowed) in urls().items():
        response = getattr(client, method)(url, {})
        if role in allowed:
            assert response.status_code in (200, 302), (name, role, response.status_code)
        else:
            assert response.status_code == 403, (name, role, response.status_code)


def test_anonymous_visitors_are_sent_to_log_in(client):
    for name, (method, url, _allowed) in urls().items():
        response = getattr(client, method)(url, {})
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], name


@pytest.mark.parametrize(
    ("role", "perms"),
    [
        ("Support", {"view_touchpoint", "add_touchpoint", "view_touchpointtype"}),
        ("Marketing", {"view_touchpoint", "add_touchpoint", "view_funnel", "change_touchpointtype", "move_stage"}),
        ("Manager", {"view_funnel", "move_stage", "add_apikey", "change_apikey", "delete_touchpoint"}),
    ],
)
def test_roles_hold_their_journey_permissions(role, perms):
    user = UserFactory(username=f"p-{role}", role=role)
    assert {p for p in perms if user.has_perm(f"touchpoints.{p}")} == perms


def test_only_managers_hold_api_key_permissions():
    for role in ("Support", "Marketing"):
        user = UserFactory(username=f"k-{role}", role=role)
        assert not user.has_perm("touchpoints.view_apikey")
        assert not user.has_perm("touchpoints.add_apikey")


def test_the_navbar_shows_the_journey_menu_by_role(client):
    client.force_login(UserFactory(username="s", role="Support"))
    body = client.get(reverse("home")).content.decode()
    assert reverse("touchpoints:list") in body and reverse("touchpoints:funnel") not in body
    client.force_login(UserFactory(username="m", role="Manager"))
    body = client.get(reverse("home")).content.decode()
    assert reverse("touchpoints:funnel") in body and reverse("touchpoints:api_keys") in body
