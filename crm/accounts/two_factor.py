"""Two-factor authentication: a TOTP device (an authenticator app) and ten single-use backup codes (django-otp's
static tokens), and which roles must have them (TSUNAGU_REQUIRE_2FA_FOR).

A user has two-factor authentication when they have a *confirmed* TOTP device; an unconfirmed one is an enrolment
under way (its secret shown once as a QR code), confirmed by the first code the app shows.
"""

from __future__ import annotations

from base64 import b32encode

import segno
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from crm.audit.services import backup_code_use_record

BACKUP_CODES = 10
DEVICE_NAME = "authenticator"


def two_factor_enrolled(user: AbstractBaseUser) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def two_factor_required(user: AbstractBaseUser) -> bool:
    """Whether the user's role must use two-factor authentication: TSUNAGU_REQUIRE_2FA_FOR names roles (group
    names, any case) and ``superuser``; ``*`` names everyone."""
    required = {role.strip().lower() for role in settings.TSUNAGU_REQUIRE_2FA_FOR if role.strip()}
    if not required or not user.is_authenticated:
        return False
    if "*" in required or (user.is_superuser and "superuser" in required):
        return True
    names = {name.lower() for name in user.groups.values_list("name", flat=True)}
    return bool(names & required)


def totp_pending(*, user: AbstractBaseUser) -> TOTPDevice:
    """The enrolment under way: the user's unconfirmed device, made on the first visit (its secret stays the same
    until it is confirmed, so a reload does not invalidate a QR code already scanned)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    return device or TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)


def totp_qr_svg(device: TOTPDevice) -> str:
    """The otpauth:// URL as an inline SVG QR code, drawn here: the secret never leaves the server for a QR
    service."""
    return segno.make(device.config_url, error="m").svg_inline(scale=5, dark="#000", light="#fff")


def totp_secret(device: TOTPDevice) -> str:
    """The secret for typing into an app by hand: base32 in groups of four."""
    secret = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@transaction.atomic
def totp_confirm(*, user: AbstractBaseUser, token: str) -> list[str] | None:
    """Confirm the pending device with a code from the app; on success, any older device is removed and new backup
    codes are made (returned, to be shown once). None: the code did not match (or tries are throttled)."""
    device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).order_by("pk").first()
    if device is None or not device.verify_token(_digits(token)):
        return None
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    return backup_codes_regenerate(user=user)


@transaction.atomic
def backup_codes_regenerate(*, user: AbstractBaseUser) -> list[str]:
    """New backup codes replacing the old ones: each logs in once, in place of a code from the app."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name="backup codes", confirmed=True)
    codes = [StaticToken.random_token() for _ in range(BACKUP_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


@transaction.atomic
def two_factor_disable(*, user: AbstractBaseUser) -> None:
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()


@transaction.atomic
def token_verify(*, user: AbstractBaseUser, token: str) -> Device | None:
    """The device that accepts ``token`` at login: the app's code (six digits) or a backup code (used up). Each
    device throttles its own failures (django-otp: 1, 2, 4… seconds between tries after a failure)."""
    token = token.strip().replace(" ", "").replace("-", "").lower()
    if not token:
        return None
    if token.isdigit():
        devices = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True)
    else:
        devices = StaticDevice.objects.select_for_update().filter(user=user, confirmed=True)
    for device in devices:
        if device.verify_token(token):
            if isinstance(device, StaticDevice):
                backup_code_use_record(device=device)
            return device
    return None


def _digits(token: str) -> str:
    return "".join(ch for ch in token if ch.isdigit())
