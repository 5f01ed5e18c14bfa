"""Two-factor authentication (django-otp): enrolment on the Security page, the code after the password at login
(throttled like passwords), backup codes, turning it off, and the requirement per role."""

from __future__ import annotations

import re
import time

import pytest
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from crm.accounts.two_factor import backup_codes_regenerate
from tests.factories import UserFactory

PASSWORD = "tsunagu-test"  # UserFactory's password


def code_for(device: TOTPDevice, offset: int = 0) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + offset
    return f"{totp.token():06d}"


def enrolled(user) -> TOTPDevice:
    device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
    backup_codes_regenerate(user=user)
    return device


def password_step(client, username="hanako", password=PASSWORD, next_url=""):
    data = {"username": username, "password": password}
    if next_url:
        data["next"] = next_url
    return client.post(reverse("login"), data, REMOTE_ADDR="203.0.113.7")


def code_step(client, token):
    return client.post(reverse("login_verify"), {"token": token}, REMOTE_ADDR="203.0.113.7")


@pytest.fixture
def hanako(db):
    return UserFactory(username="hanako", role="Support")


def test_enrolment_shows_a_qr_code_and_the_secret_and_is_confirmed_by_a_code(client, hanako):
    # given: a staff member on the enrolment page
    client.force_login(hanako)
    page = client.get(reverse("accounts:two_factor_enrol")).content.decode()
    assert "<svg" in page and 'class="segno"' in page  # the QR code, drawn on the server
    device = TOTPDevice.objects.get(user=hanako, confirmed=False)
    secret = re.search(r'data-testid="totp-secret">([A-Z2-7 ]+)<', page).group(1)
    assert secret.replace(" ", "") in device.config_url

    # when: a wrong code, then the app's code
    wrong = client.post(
        reverse("accounts:two_factor_enrol"), {"token": "000000" if code_for(device) != "000000" else "111111"}
    )
    assert "That code is not right" in wrong.content.decode()
    device.refresh_from_db()
    device.throttle_reset()
    response = client.post(reverse("accounts:two_factor_enrol"), {"token": code_for(device)})

    # then: the device is confirmed and ten backup codes are shown, once
    assert response.status_code == 200
    device.refresh_from_db()
    assert device.confirmed
    codes = set(StaticToken.objects.filter(device__user=hanako).values_list("token", flat=True))
    assert len(codes) == 10
    assert all(code in response.content.decode() for code in codes)
    again = client.get(reverse("accounts:security")).content.decode()
    assert not any(code in again for code in codes)
    assert client.get(reverse("accounts:two_factor_enrol"))["Location"] == reverse("accounts:security")


def test_a_user_with_two_factor_logs_in_only_after_the_code(client, hanako):
    device = enrolled(hanako)

    # when: the right password
    response = password_step(client, next_url="/customers/")

    # then: not yet logged in; the code page is next
    assert response["Location"] == reverse("login_verify")
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("home")).status_code == 302
    key_before = client.session.session_key

    # when: the code from the app
    response = code_step(client, code_for(device))

    # then: logged in, on a new session key, sent where they were going
    assert response.status_code == 302
    assert response["Location"] == "/customers/"
    assert client.session["_auth_user_id"] == str(hanako.pk)
    assert client.session.session_key != key_before


def test_a_backup_code_logs_in_once(client, hanako):
    enrolled(hanako)
    code = StaticToken.objects.filter(device__user=hanako).first().token

    password_step(client)
    assert code_step(client, code.upper())["Location"] == reverse("home")
    client.logout()

    password_step(client)
    response = code_step(client, code)
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_wrong_codes_are_throttled_and_lock_the_account_like_wrong_passwords(client, hanako, settings):
    device = enrolled(hanako)
    password_step(client)

    # when: wrong codes up to the failure limit
    statuses = []
    for _ in range(settings.AXES_FAILURE_LIMIT):
        statuses.append(code_step(client, "12345678").status_code)
        device.refresh_from_db()

    # then: the last locks the account; the right code (and the right password) are then refused
    assert statuses[:-1] == [200] * (settings.AXES_FAILURE_LIMIT - 1)
    assert statuses[-1] == 429
    device.throttle_reset()
    response = code_step(client, code_for(device))
    assert response.status_code in (302, 429)
    assert "_auth_user_id" not in client.session
    assert password_step(client).status_code == 429


def test_the_device_slows_guesses_after_a_wrong_code(client, hanako):
    device = enrolled(hanako)
    password_step(client)
    code_step(client, "000000" if code_for(device) != "000000" else "111111")

    # the right code straight after a wrong one is refused (django-otp's throttle: wait 1 s, 2 s, 4 s…)
    response = code_step(client, code_for(device))
    assert response.status_code == 200
    assert "came too soon" in response.content.decode()
    device.refresh_from_db()
    assert device.throttling_failure_count >= 1


def test_the_code_step_expires(client, hanako):
    device = enrolled(hanako)
    password_step(client)
    session = client.session
    session["tsunagu_login_pending"]["at"] -= 301
    session.save()

    response = code_step(client, code_for(device))

    assert response["Location"] == reverse("login")
    assert "_auth_user_id" not in client.session


def test_the_code_page_without_a_password_step_goes_back_to_the_login(client, db):
    assert client.get(reverse("login_verify"))["Location"] == reverse("login")


def test_turning_two_factor_off_needs_the_password(client, hanako):
    enrolled(hanako)
    client.force_login(hanako)

    client.post(reverse("accounts:two_factor_off"), {"password": "wrong"})
    assert TOTPDevice.objects.filter(user=hanako).exists()

    client.post(reverse("accounts:two_factor_off"), {"password": PASSWORD})
    assert not TOTPDevice.objects.filter(user=hanako).exists()
    assert not StaticToken.objects.filter(device__user=hanako).exists()


def test_new_backup_codes_replace_the_old_ones(client, hanako):
    enrolled(hanako)
    old = set(StaticToken.objects.filter(device__user=hanako).values_list("token", flat=True))
    client.force_login(hanako)

    response = client.post(reverse("accounts:backup_codes_new"), {"password": PASSWORD})

    new = set(StaticToken.objects.filter(device__user=hanako).values_list("token", flat=True))
    assert len(new) == 10 and not (old & new)
    assert all(code in response.content.decode() for code in new)


def test_a_required_role_reaches_only_enrolment_until_done(client, settings, manager):
    # given: managers must use two-factor authentication, and this one has not enrolled
    settings.TSUNAGU_REQUIRE_2FA_FOR = ["manager"]
    client.force_login(manager)

    # then: every page sends them to enrolment, which they can reach
    for url in (reverse("home"), reverse("customers:list"), reverse("accounts:security")):
        assert client.get(url)["Location"] == reverse("accounts:two_factor_enrol"), url
    assert client.get(reverse("accounts:two_factor_enrol")).status_code == 200

    # when: they enrol
    device = TOTPDevice.objects.get(user=manager, confirmed=False)
    client.post(reverse("accounts:two_factor_enrol"), {"token": code_for(device)})

    # then: the pages open
    assert client.get(reverse("customers:list")).status_code == 200


def test_a_role_not_required_is_not_sent_to_enrolment(client, settings, support):
    settings.TSUNAGU_REQUIRE_2FA_FOR = ["manager"]
    client.force_login(support)
    assert client.get(reverse("customers:list")).status_code == 200


def test_an_enrolled_required_user_whose_session_skipped_the_code_logs_in_again(client, settings, manager):
    settings.TSUNAGU_REQUIRE_2FA_FOR = ["Manager"]
    enrolled(manager)
    client.force_login(manager)  # a session from before the rule

    response = client.get(reverse("customers:list"))

    assert response["Location"].startswith(reverse("login"))
    assert "_auth_user_id" not in client.session


def test_the_admin_login_is_the_staff_login_with_its_second_step(client, db):
    response = client.get(reverse("admin:login"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    response = client.post(reverse("admin:login"), {"username": "x", "password": "y"})
    assert response["Location"].startswith(reverse("login"))


def test_the_code_page_speaks_japanese(client, hanako):
    enrolled(hanako)
    password_step(client)
    response = client.get(reverse("login_verify"), HTTP_ACCEPT_LANGUAGE="ja")
    assert "認証アプリ" in response.content.decode()
