"""Logins are throttled per account and per address (django-axes): guessing stops after a few wrong passwords,
and a locked-out try costs no password hashing."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import UserFactory

PASSWORD = "the-right-password-8141"


@pytest.fixture
def staff(db):
    user = UserFactory(username="hanako", role="Support")
    user.set_password(PASSWORD)
    user.save()
    return user


def attempt(client, username: str, password: str, address: str = "203.0.113.7"):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address)


def test_the_right_password_is_refused_after_five_wrong_ones_with_a_clear_message(client, staff, settings):
    # given: five wrong passwords for one account; the fifth locks it
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert attempt(client, "hanako", "wrong").status_code == 200  # the form again, with its error
    assert attempt(client, "hanako", "wrong").status_code == 429

    # when: the right password follows
    response = attempt(client, "hanako", PASSWORD)

    # then: it is refused, and the page says why and for how long, without logging in
    assert response.status_code == 429
    assert b"Too many failed logins" in response.content
    assert b"15 minutes" in response.content
    assert "_auth_user_id" not in client.session


def test_an_account_is_locked_from_every_address(client, staff, settings):
    # given: an account guessed at from several addresses
    for i in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, "hanako", "wrong", address=f"198.51.100.{i}")

    # then: the account is locked wherever the next try comes from
    assert attempt(client, "hanako", PASSWORD, address="192.0.2.50").status_code == 429


def test_an_address_is_locked_for_every_account(client, staff, settings):
    # given: one address trying one password against many accounts
    for i in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, f"user{i}", "wrong")

    # then: that address cannot log in to the real account either, while another address can
    assert attempt(client, "hanako", PASSWORD).status_code == 429
    assert attempt(client, "hanako", PASSWORD, address="192.0.2.99").status_code == 302


def test_a_successful_login_clears_the_account_s_failures(client, staff, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        attempt(client, "hanako", "wrong")
    assert attempt(client, "hanako", PASSWORD).status_code == 302
    client.logout()

    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        attempt(client, "hanako", "wrong")
    assert attempt(client, "hanako", PASSWORD).status_code == 302


def test_the_lockout_page_speaks_japanese(client, staff, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, "hanako", "wrong")
    response = client.post(
        reverse("login"),
        {"username": "hanako", "password": PASSWORD},
        REMOTE_ADDR="203.0.113.7",
        HTTP_ACCEPT_LANGUAGE="ja",
    )
    assert response.status_code == 429
    assert "ログインの失敗が多すぎます" in response.content.decode()
