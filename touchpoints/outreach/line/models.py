"""LINE's rows: who a LINE user is to the shop (``LineUser``), the webhook events as received, the account-link
requests in flight and the throttle all workers share. Imported by ``outreach.models`` (the app's model module).

A LINE user id is per provider (two channels of one provider see the same id; another provider sees another),
so a user is stored with the provider it belongs to. A user who writes or follows before being linked is an
unlinked contact (``customer`` empty) that staff may link by hand.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.models import Customer


class LineUser(models.Model):
    provider = models.CharField(_("LINE provider"), max_length=64)
    user_id = models.CharField(_("LINE user ID"), max_length=64)
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="line_users",
    )
    display_name = models.CharField(_("LINE name"), max_length=100, blank=True)
    linked_at = models.DateTimeField(_("linked at"), null=True, blank=True)
    unlinked_at = models.DateTimeField(_("unlinked at"), null=True, blank=True)
    # LINE consent: a follow event, kept as proof (its webhookEventId and time); an unfollow (blocked) withdraws it.
    following = models.BooleanField(_("follows the account"), default=False)
    blocked = models.BooleanField(_("blocked the account"), default=False)
    followed_at = models.DateTimeField(_("followed at"), null=True, blank=True)
    follow_event_id = models.CharField(_("follow event"), max_length=64, blank=True)
    unfollowed_at = models.DateTimeField(_("blocked at"), null=True, blank=True)
    # The latest message's reply token (free, single use, valid for a short while): a staff reply uses it.
    reply_token = models.CharField(max_length=100, blank=True, editable=False)
    reply_token_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_message_at = models.DateTimeField(_("last message"), null=True, blank=True)
    last_message_text = models.TextField(_("last message text"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        verbose_name = _("LINE user")
        verbose_name_plural = _("LINE users")
        constraints = [
            models.UniqueConstraint(fields=["provider", "user_id"], name="lineuser_once_per_provider"),
            # One LINE account per customer and provider.
            models.UniqueConstraint(
                fields=["provider", "customer"], name="lineuser_one_per_customer", condition=Q(customer__isnull=False)
            ),
        ]
        indexes = [
            models.Index(fields=["-last_message_at"], name="lineuser_unlinked_idx", condition=Q(customer__isnull=True)),
        ]

    def __str__(self) -> str:
        return self.display_name or self.user_id[:8] + "…"

    @property
    def reachable(self) -> bool:
        return self.following and not self.blocked


class LineWebhookEvent(models.Model):
    """One webhook event, stored once by ``webhookEventId`` before any work: LINE's redeliveries change nothing."""

    event_id = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=30)
    payload = models.JSONField()
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("LINE webhook event")
        verbose_name_plural = _("LINE webhook events")
        indexes = [
            models.Index(fields=["received_at"], name="lineevent_pending_idx", condition=Q(processed_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.event_id}"


class LineLinkRequest(models.Model):
    """An account link in flight: LINE's link token, the customer who proved who they are, the nonce."""

    link_token = models.CharField(max_length=100, unique=True)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    code_hash = models.CharField(max_length=128, blank=True)
    code_sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    nonce = models.CharField(max_length=64, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["nonce"], name="linelinkrequest_nonce_once", condition=~Q(nonce="")),
        ]

    def __str__(self) -> str:
        return f"link request {self.pk}"


class LineThrottle(models.Model):
    """One row: LINE answered 429, so no worker calls it before ``blocked_until`` (the limiter all workers share)."""

    blocked_until = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("LINE throttle")

    def __str__(self) -> str:
        return f"LINE blocked until {self.blocked_until}"
