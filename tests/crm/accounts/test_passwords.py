"""Password rules (Django's validators: at least 12 characters, not common, not only digits, not like the user's
name or address) hold wherever a password is set: the password change page and the admin's user pages."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from tests.factories import UserFactory

OLD = "tsunagu-test"  # UserFactory's password


@pytest.fixture
def hanako(db):
    return UserFactory(username="hanako", first_name="Hanako", last_name="Yamada", email="hanako.yamada@example.com")


def change(client, new: str):
    return client.post(
        reverse("accounts:password_change"), {"old_password": OLD, "new_password1": new, "new_password2": new}
    )


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("short-pass1", "too short"),
        ("password1234", "too common"),
        ("739216485021", "entirely numeric"),
        ("hanako.yamada@example", "too similar"),
    ],
)
def test_the_password_change_page_refuses_a_weak_password(client, hanako, password, why):
    # given: a staff member on their password change page
    client.force_login(hanako)

    # when: they choose a weak password
    response = change(client, password)

    # then: the page says why, and the old password still works
    assert response.status_code == 200
    assert why in response.content.decode()
    hanako.refresh_from_db()
    assert hanako.check_password(OLD)


def test_the_password_change_page_accepts_a_strong_password_and_keeps_the_session(client, hanako):
    client.force_login(hanako)

    response = change(client, "kumo-to-yama-ni-3817")

    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:security")
    hanako.refresh_from_db()
    assert hanako.check_password("kumo-to-yama-ni-3817")
    assert client.get(reverse("accounts:security")).status_code == 200  # still logged in


def test_the_security_page_states_the_rules(client, hanako):
    client.force_login(hanako)
    response = client.get(reverse("accounts:security"))
    assert "At least 12 characters" in response.content.decode()


def test_the_password_pages_need_a_login(client, db):
    for name in ("accounts:security", "accounts:password_change"):
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_a_superuser_cannot_create_staff_with_a_weak_password_in_the_admin(admin_client):
    response = admin_client.post(
        reverse("admin:auth_user_add"),
        {"username": "taro", "usable_password": "true", "password1": "short1", "password2": "short1"},
    )
    assert response.status_code == 200
    assert "too short" in response.content.decode()
    assert not get_user_model().objects.filter(username="taro").exists()


def test_a_superuser_cannot_set_a_weak_password_in_the_admin(admin_client, hanako):
    response = admin_client.post(
        reverse("admin:auth_user_password_change", args=[hanako.pk]),
        {"password1": "123456789012", "password2": "123456789012"},
    )
    assert response.status_code == 200
    assert "too common" in response.content.decode() or "entirely numeric" in response.content.decode()
    hanako.refresh_from_db()
    assert hanako.check_password(OLD)
