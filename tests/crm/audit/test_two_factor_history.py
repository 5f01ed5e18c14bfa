"""Two-factor devices in the change history: enrolling an authenticator app (the device added, then confirmed),
backup codes made, a backup code used to log in, two-factor turned off: each recorded with who did it. The
device's secret and the codes themselves never are."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from crm.audit.models import StaticDeviceEvent, TOTPDeviceEvent
from tests.crm.accounts.test_two_factor import PASSWORD, code_for, code_step, enrolled, password_step
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def hanako(db):
    return UserFactory(username="hanako", role="Support")


def test_enrolling_and_turning_off_two_factor_are_recorded_with_who(client, hanako):
    client.force_login(hanako)
    client.get(reverse("accounts:two_factor_enrol"))
    device = TOTPDevice.objects.get(user=hanako)
    client.post(reverse("accounts:two_factor_enrol"), {"token": code_for(device)})
    client.post(reverse("accounts:two_factor_off"), {"password": PASSWORD})

    totp = list(TOTPDeviceEvent.objects.filter(user_id=hanako.pk).exclude(pgh_label="before").order_by("pgh_id"))
    assert [(e.pgh_label, e.confirmed) for e in totp] == [("insert", False), ("update", True), ("delete", True)]
    assert all(e.pgh_context.metadata["user"] == hanako.pk for e in totp)
    static = list(StaticDeviceEvent.objects.filter(user_id=hanako.pk).order_by("pgh_id").values_list("pgh_label"))
    assert static == [("insert",), ("delete",)]
    field_names = {f.name for f in TOTPDeviceEvent._meta.fields} | {f.name for f in StaticDeviceEvent._meta.fields}
    assert "key" not in field_names and "token" not in field_names  # no secret in the history


def test_a_backup_code_used_to_log_in_is_recorded(client, hanako):
    enrolled(hanako)
    code = StaticToken.objects.filter(device__user=hanako).first().token

    password_step(client)
    code_step(client, code)

    (used,) = StaticDeviceEvent.objects.filter(user_id=hanako.pk, pgh_label="backup_code_used")
    assert used.pgh_context.metadata["user"] == hanako.pk
    assert code not in str(used.pgh_context.metadata)


def test_new_backup_codes_are_recorded(client, hanako):
    enrolled(hanako)
    client.force_login(hanako)

    client.post(reverse("accounts:backup_codes_new"), {"password": PASSWORD})

    labels = list(StaticDeviceEvent.objects.filter(user_id=hanako.pk).order_by("pgh_id").values_list("pgh_label"))
    assert labels == [("insert",), ("delete",), ("insert",)]
