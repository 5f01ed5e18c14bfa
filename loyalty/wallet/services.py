"""Writes and reads of the wallet passes: the pass of a membership, what Apple's and Google's wallets show,
Apple's device registrations, and bringing both wallets up to date after a change (``wallet_pass_update``,
run by a task; safe to run twice: each wallet records up to which change it was told)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import logging
import secrets
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from ..member.summary import membership_for_card
from ..models import Membership
from ..services.cards import card_for, card_token
from . import apns, apple, google
from .config import apple_config, google_config
from .models import WalletPass, WalletRegistration

logger = logging.getLogger(__name__)


class WalletUnavailable(Exception):
    """A wallet answered with an error worth retrying (5xx, no connection)."""


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def apple_auth_token(wallet_pass: WalletPass) -> str:
    """The pass's authenticationToken (Apple: at least 16 characters), derived from its salt with the secret key."""
    mac = hmac.new(settings.SECRET_KEY.encode(), f"wallet-pass:{wallet_pass.salt}".encode(), hashlib.sha256)
    return base64.b32encode(mac.digest()[:20]).decode().rstrip("=")


def wallet_pass_for(membership: Membership) -> WalletPass:
    """The membership's pass, created on first use (two first uses at once create one)."""
    existing = WalletPass.objects.filter(membership_id=membership.pk).first()
    if existing is not None:
        return existing
    wallet_pass = WalletPass(membership_id=membership.pk, salt=secrets.token_hex(16))
    wallet_pass.auth_token_hash = _hash(apple_auth_token(wallet_pass))
    try:
        with transaction.atomic():
            wallet_pass.save()
    except IntegrityError:
        return WalletPass.objects.get(membership_id=membership.pk)
    return wallet_pass


def apple_pass_authorised(*, serial_number: str, authorization: str) -> WalletPass | None:
    """The pass named by ``serial_number`` if the request carries its token ("ApplePass <token>")."""
    scheme, _sep, token = (authorization or "").partition(" ")
    wallet_pass = WalletPass.objects.filter(serial_number=serial_number[:32]).first()
    if wallet_pass is None or scheme != "ApplePass" or not token:
        return None
    if not hmac.compare_digest(_hash(token.strip()), wallet_pass.auth_token_hash):
        return None
    return wallet_pass


# --- What the passes show -------------------------------------------------------------------------


def _labels(membership: Membership) -> dict[str, str]:
    return {
        "points": _("Points"),
        "tier": _("Tier"),
        "member": _("Member"),
        "number": _("Member number"),
        "change": _("Your balance is now %@ points"),
        "description": _("%(programme)s member card") % {"programme": membership.programme.name},
    }


def apple_pass_json(wallet_pass: WalletPass, membership: Membership, token: str, config) -> dict[str, Any]:
    labels = _labels(membership)
    barcode = {"format": "PKBarcodeFormatQR", "message": token, "messageEncoding": "iso-8859-1",
               "altText": membership.member_number}  # fmt: skip
    return {
        "formatVersion": 1,
        "passTypeIdentifier": config.pass_type_id,
        "teamIdentifier": config.team_id,
        "serialNumber": wallet_pass.serial_number,
        "authenticationToken": apple_auth_token(wallet_pass),
        "webServiceURL": settings.TSUNAGU_BASE_URL + reverse("member:wallet_apple_root"),
        "organizationName": settings.TSUNAGU_SHOP_NAME,
        "description": labels["description"],
        "logoText": membership.programme.name,
        "foregroundColor": "rgb(255, 255, 255)",
        "labelColor": "rgb(220, 228, 236)",
        "backgroundColor": "rgb({}, {}, {})".format(*apple.BRAND_RGB),
        "storeCard": {
            "headerFields": [{"key": "tier", "label": labels["tier"], "value": membership.tier.name}]
            if membership.tier_id
            else [],
            "primaryFields": [
                {
                    "key": "balance",
                    "label": labels["points"],
                    "value": membership.balance,
                    "changeMessage": labels["change"],
                },  # fmt: skip
            ],
            "secondaryFields": [
                {"key": "member", "label": labels["member"], "value": membership.customer.display_name}
            ],
            "auxiliaryFields": [{"key": "number", "label": labels["number"], "value": membership.member_number}],
        },
        "barcodes": [barcode],
        "barcode": barcode,  # iOS before 9
    }


def apple_pass_file(wallet_pass: WalletPass) -> bytes:
    """The signed .pkpass of the pass, in the member's language, as it is now."""
    config = apple_config()
    if config is None:
        raise WalletUnavailable("Apple Wallet is not configured")
    membership = membership_for_card(wallet_pass.membership_id)
    token = card_token(card_for(membership))
    with translation.override(membership.customer.preferred_language or settings.LANGUAGE_CODE):
        return apple.pkpass(apple_pass_json(wallet_pass, membership, token, config), config)


def _google_fields(membership: Membership, token: str) -> dict[str, Any]:
    labels = _labels(membership)
    fields: dict[str, Any] = {
        "loyaltyPoints": {"label": labels["points"], "balance": {"int": membership.balance}},
        "barcode": {"type": "QR_CODE", "value": token, "alternateText": membership.member_number},
        "textModulesData": [{"id": "tier", "header": labels["tier"], "body": membership.tier.name}]
        if membership.tier_id
        else [],
    }
    return fields


def google_save_link(*, membership: Membership) -> str:
    """The "Save to Google Wallet" address: a signed JWT holding the loyalty object as it is now."""
    config = google_config()
    if config is None:
        raise WalletUnavailable("Google Wallet is not configured")
    wallet_pass = wallet_pass_for(membership)
    token = card_token(card_for(membership))
    with translation.override(membership.customer.preferred_language or settings.LANGUAGE_CODE):
        loyalty_object = {
            "id": google.object_id(config, wallet_pass.serial_number),
            "classId": config.class_id,
            "state": "ACTIVE",
            "accountId": membership.member_number,
            "accountName": membership.customer.display_name,
            **_google_fields(membership, token),
        }
    WalletPass.objects.filter(pk=wallet_pass.pk, google_issued_at__isnull=True).update(google_issued_at=timezone.now())
    return google.save_url(config, loyalty_object, origin=settings.TSUNAGU_BASE_URL)


# --- Apple's device registrations -----------------------------------------------------------------


def apple_device_register(*, wallet_pass: WalletPass, device_library_id: str, push_token: str) -> bool:
    """Idempotent: True when the device is new for the pass, False when it was registered (its token updated)."""
    registration, created = WalletRegistration.objects.get_or_create(
        wallet_pass=wallet_pass, device_library_id=device_library_id[:100], defaults={"push_token": push_token[:200]}
    )
    if not created and registration.push_token != push_token[:200]:
        WalletRegistration.objects.filter(pk=registration.pk).update(push_token=push_token[:200])
    return created


def apple_device_unregister(*, wallet_pass: WalletPass, device_library_id: str) -> bool:
    deleted, _rows = WalletRegistration.objects.filter(
        wallet_pass=wallet_pass, device_library_id=device_library_id[:100]
    ).delete()
    return bool(deleted)


def _tag(moment: dt.datetime) -> str:
    return str(int(moment.timestamp() * 1_000_000))


def apple_serials_updated_since(*, device_library_id: str, since: str | None) -> tuple[list[str], str | None]:
    """The serial numbers of the device's passes changed after the ``since`` tag, and the new tag."""
    rows = WalletPass.objects.filter(registrations__device_library_id=device_library_id[:100])
    if since and since.isdigit():
        moment = dt.datetime.fromtimestamp(int(since) / 1_000_000, tz=dt.UTC)
        rows = rows.filter(changed_at__gt=moment)
    found = list(rows.values_list("serial_number", "changed_at"))
    if not found:
        return [], None
    return [serial for serial, _at in found], _tag(max(at for _serial, at in found))


# --- Updates after a change -----------------------------------------------------------------------


def _apple_update(wallet_pass: WalletPass) -> int:
    config = apple_config()
    if config is None or config.apns_key is None:
        return 0
    if wallet_pass.apple_pushed_at is not None and wallet_pass.apple_pushed_at >= wallet_pass.changed_at:
        return 0
    registrations = list(wallet_pass.registrations.values_list("pk", "push_token"))
    results = apns.push(config, [token for _pk, token in registrations]) if registrations else {}
    gone = [pk for pk, token in registrations if results.get(token) == 410]
    if gone:
        WalletRegistration.objects.filter(pk__in=gone).delete()
    if any(status == 0 or status >= 500 for status in results.values()):
        raise WalletUnavailable("APNs did not take every push")
    WalletPass.objects.filter(pk=wallet_pass.pk).filter(
        Q(apple_pushed_at__isnull=True) | Q(apple_pushed_at__lt=wallet_pass.changed_at)
    ).update(apple_pushed_at=wallet_pass.changed_at)
    return len(results)


def _google_update(wallet_pass: WalletPass) -> int:
    config = google_config()
    if config is None or wallet_pass.google_issued_at is None:
        return 0
    if wallet_pass.google_synced_at is not None and wallet_pass.google_synced_at >= wallet_pass.changed_at:
        return 0
    membership = membership_for_card(wallet_pass.membership_id)
    token = card_token(card_for(membership))
    with translation.override(membership.customer.preferred_language or settings.LANGUAGE_CODE):
        fields = _google_fields(membership, token)
    status = google.object_patch(config, settings.TSUNAGU_GOOGLE_WALLET_API_URL, wallet_pass.serial_number, fields)
    if status >= 500 or status in (401, 403, 429):
        raise WalletUnavailable(f"Google Wallet answered {status}")
    # 404: the member never saved the link; a link made later holds the balance of its time.
    WalletPass.objects.filter(pk=wallet_pass.pk).filter(
        Q(google_synced_at__isnull=True) | Q(google_synced_at__lt=wallet_pass.changed_at)
    ).update(google_synced_at=wallet_pass.changed_at)
    return 1 if status < 300 else 0


def wallet_pass_update(*, membership_id: int) -> dict[str, int]:
    """Tell the member's Apple devices and patch their Google object, if the pass changed since they were last
    told. Returns what was done: {"apple": pushes, "google": patches}."""
    wallet_pass = WalletPass.objects.filter(membership_id=membership_id).first()
    if wallet_pass is None:
        return {"apple": 0, "google": 0}
    return {"apple": _apple_update(wallet_pass), "google": _google_update(wallet_pass)}


def wallet_passes_pending(*, limit: int = 500) -> list[int]:
    """Memberships whose pass changed after a wallet was last told (an update that never ran: broker down)."""
    apple_due = Q(registrations__isnull=False) & (
        Q(apple_pushed_at__isnull=True) | Q(apple_pushed_at__lt=F("changed_at"))
    )
    google_due = Q(google_issued_at__isnull=False) & (
        Q(google_synced_at__isnull=True) | Q(google_synced_at__lt=F("changed_at"))
    )
    return list(
        WalletPass.objects.filter(apple_due | google_due).values_list("membership_id", flat=True).distinct()[:limit]
    )
