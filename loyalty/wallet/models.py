"""The wallet pass of a membership and the Apple devices that registered it.

Imported by ``loyalty/models.py`` (the models of the loyalty app); kept apart to keep that module readable.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def _serial() -> str:
    return uuid.uuid4().hex


class WalletPass(models.Model):
    """One pass per membership, created when the member first adds it to a wallet. ``changed_at`` moves with
    every balance change or card reissue (Apple's Last-Modified); ``apple_pushed_at`` and ``google_synced_at``
    say up to which change the devices were told and Google's object was patched, so an update job run twice
    does nothing the second time. The Apple authentication token is derived from ``salt`` with the secret key
    (``wallet.services.apple_auth_token``); only its SHA-256 is stored."""

    membership = models.OneToOneField(
        "loyalty.Membership", verbose_name=_("membership"), on_delete=models.CASCADE, related_name="wallet_pass"
    )
    serial_number = models.CharField(_("serial number"), max_length=32, unique=True, default=_serial, editable=False)
    salt = models.CharField(max_length=32, editable=False)
    auth_token_hash = models.CharField(max_length=64, editable=False)
    changed_at = models.DateTimeField(_("changed at"), default=timezone.now)
    apple_pushed_at = models.DateTimeField(_("devices told at"), null=True, blank=True)
    google_issued_at = models.DateTimeField(_("Google Wallet link made at"), null=True, blank=True)
    google_synced_at = models.DateTimeField(_("Google Wallet updated at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        app_label = "loyalty"
        ordering = ["-created_at", "-id"]
        verbose_name = _("wallet pass")
        verbose_name_plural = _("wallet passes")

    def __str__(self) -> str:
        return f"wallet pass {self.serial_number} of membership {self.membership_id}"


class WalletRegistration(models.Model):
    """An Apple device that added the pass (Apple's "register a device" call); registering again only updates
    its push token."""

    wallet_pass = models.ForeignKey(
        WalletPass, verbose_name=_("wallet pass"), on_delete=models.CASCADE, related_name="registrations"
    )
    device_library_id = models.CharField(_("device"), max_length=100)
    push_token = models.CharField(_("push token"), max_length=200)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        app_label = "loyalty"
        ordering = ["-created_at", "-id"]
        verbose_name = _("wallet registration")
        verbose_name_plural = _("wallet registrations")
        constraints = [
            models.UniqueConstraint(fields=["device_library_id", "wallet_pass"], name="loyalty_wallet_device_unique"),
        ]

    def __str__(self) -> str:
        return f"device registration {self.pk} of {self.wallet_pass_id}"
