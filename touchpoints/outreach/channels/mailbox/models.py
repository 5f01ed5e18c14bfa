"""The mailboxes Tsunagu reads and the mail it stored (app label "outreach"; imported by outreach.models)."""

from __future__ import annotations

import os
import re

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

_ENV_NAME = re.compile(r"[^A-Z0-9]+")


class Mailbox(models.Model):
    """An IMAP mailbox Tsunagu polls. The password is never stored: it is read from the environment variable
    ``password_env`` names (default ``TSUNAGU_MAILBOX_<NAME>_PASSWORD``)."""

    class Purpose(models.TextChoices):
        SUPPORT = "support", _("Support (replies and new tickets)")
        UNSUBSCRIBE = "unsubscribe", _("Unsubscribe requests (List-Unsubscribe mailto)")

    name = models.SlugField(_("name"), max_length=50, unique=True)
    address = models.EmailField(_("address"), help_text=_("The address customers write to."))
    purpose = models.CharField(_("purpose"), max_length=12, choices=Purpose.choices, default=Purpose.SUPPORT)
    is_active = models.BooleanField(_("active"), default=True)
    host = models.CharField(_("IMAP host"), max_length=255, blank=True)
    port = models.PositiveIntegerField(_("IMAP port"), default=993)
    use_tls = models.BooleanField(
        _("TLS"), default=True, help_text=_("IMAPS (implicit TLS); off: STARTTLS if offered.")
    )
    username = models.CharField(_("user name"), max_length=255, blank=True)
    password_env = models.CharField(
        _("password variable"),
        max_length=100,
        blank=True,
        help_text=_("The environment variable holding the password (default TSUNAGU_MAILBOX_<NAME>_PASSWORD)."),
    )
    folder = models.CharField(_("folder"), max_length=255, default="INBOX")
    processed_folder = models.CharField(
        _("processed folder"),
        max_length=255,
        blank=True,
        help_text=_("Mail is moved here once stored; empty: left where it is (Tsunagu remembers the last UID)."),
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee of new tickets"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # The IMAP folder's UIDVALIDITY and the highest UID stored from it: the next fetch asks only for newer ones.
    uidvalidity = models.BigIntegerField(null=True, blank=True, editable=False)
    last_uid = models.BigIntegerField(default=0, editable=False)
    last_fetched_at = models.DateTimeField(_("last fetched"), null=True, blank=True, editable=False)
    last_error = models.TextField(_("last error"), blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        app_label = "outreach"
        ordering = ["name"]
        verbose_name = _("mailbox")
        verbose_name_plural = _("mailboxes")

    def __str__(self) -> str:
        return f"{self.name} <{self.address}>"

    @property
    def password_variable(self) -> str:
        return self.password_env or f"TSUNAGU_MAILBOX_{_ENV_NAME.sub('_', self.name.upper()).strip('_')}_PASSWORD"

    def password(self) -> str:
        return os.environ.get(self.password_variable, "")


class InboundMail(models.Model):
    """One mail as received, kept whole (``raw``), stored once: unique on its Message-ID and on the mailbox's
    (UIDVALIDITY, UID). Stored before anything is done with it; ``status`` says what became of it."""

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received (to process)")
        PROCESSED = "processed", _("Processed")
        IGNORED = "ignored", _("Ignored")
        FAILED = "failed", _("Failed")

    class Kind(models.TextChoices):
        MESSAGE = "message", _("Message")
        AUTOMATIC = "automatic", _("Automatic reply")
        BOUNCE = "bounce", _("Delivery report")
        UNSUBSCRIBE = "unsubscribe", _("Unsubscribe request")
        OWN = "own", _("Tsunagu's own mail")

    mailbox = models.ForeignKey(
        Mailbox, verbose_name=_("mailbox"), on_delete=models.PROTECT, null=True, blank=True, related_name="mails"
    )
    uidvalidity = models.BigIntegerField(null=True, blank=True)
    uid = models.BigIntegerField(null=True, blank=True)
    message_id = models.CharField(_("Message-ID"), max_length=255, unique=True)
    raw = models.BinaryField(_("raw message"))
    size = models.PositiveIntegerField(_("size"), default=0)
    sender = models.CharField(_("from"), max_length=320, blank=True)
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    sent_at = models.DateTimeField(_("dated"), null=True, blank=True)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.MESSAGE)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.RECEIVED)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    error = models.TextField(_("error"), blank=True)
    # What the mail became (a ticket message's id, an outbox row, a customer), for the admin; no personal data.
    result = models.CharField(_("result"), max_length=200, blank=True)
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)
    # When ``raw`` was emptied (TSUNAGU_INBOUND_RAW_RETENTION_DAYS); the conversation text and attachments stay.
    raw_dropped_at = models.DateTimeField(_("raw message dropped at"), null=True, blank=True, editable=False)

    class Meta:
        app_label = "outreach"
        ordering = ["-received_at", "-id"]
        verbose_name = _("inbound mail")
        verbose_name_plural = _("inbound mail")
        constraints = [
            models.UniqueConstraint(
                fields=["mailbox", "uidvalidity", "uid"],
                name="inboundmail_uid_once",
                condition=Q(uid__isnull=False),
            ),
        ]
        indexes = [
            models.Index(fields=["received_at", "id"], name="inboundmail_todo_idx", condition=Q(status="received")),
            # The nightly retention job finds the old mail whose raw bytes are still kept, and nothing else.
            models.Index(
                fields=["received_at", "id"], name="inboundmail_raw_kept_idx", condition=Q(raw_dropped_at__isnull=True)
            ),
        ]

    def __str__(self) -> str:
        return self.message_id


class InboundAttachment(models.Model):
    """A file that came with a mail, kept in the database (never served inline). One over the limits is named
    (``refused_reason``) with no content."""

    mail = models.ForeignKey(InboundMail, verbose_name=_("mail"), on_delete=models.CASCADE, related_name="attachments")
    filename = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("type"), max_length=100)
    size = models.PositiveIntegerField(_("size"))
    content = models.BinaryField(_("content"), null=True, blank=True)
    # Why the file was not kept: "size" (over TSUNAGU_MAIL_ATTACHMENT_MAX_BYTES) or "type" (a program or script).
    refused_reason = models.CharField(_("not kept because"), max_length=200, blank=True)

    class Meta:
        app_label = "outreach"
        ordering = ["id"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.filename


class BouncedAddress(models.Model):
    """An address whose mail bounced for good (a 5.x.x delivery report): the outbox sends it nothing more until
    staff clear it (the customer changes address)."""

    address = models.EmailField(_("address"))
    status_code = models.CharField(_("status"), max_length=20, blank=True)
    diagnostic = models.CharField(_("diagnostic"), max_length=500, blank=True)
    mail = models.ForeignKey(InboundMail, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    bounced_at = models.DateTimeField(_("bounced at"), default=timezone.now)

    class Meta:
        app_label = "outreach"
        ordering = ["-bounced_at"]
        verbose_name = _("bounced address")
        verbose_name_plural = _("bounced addresses")
        constraints = [models.UniqueConstraint(Lower("address"), name="bouncedaddress_unique_ci")]

    def __str__(self) -> str:
        return self.address


class DeliveryReport(models.Model):
    """A bounce of one outbound message (RFC 3464): kept beside the outbox row, which it does not change.
    ``permanent``: a 5.x.x failure (the address is blocked, ``BouncedAddress``); otherwise a delay (4.x.x)."""

    outbound = models.ForeignKey(
        "outreach.OutboundMessage",
        verbose_name=_("message"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="delivery_reports",
    )
    address = models.EmailField(_("address"))
    permanent = models.BooleanField(_("permanent"), default=False)
    status_code = models.CharField(_("status"), max_length=20, blank=True)
    diagnostic = models.CharField(_("diagnostic"), max_length=500, blank=True)
    mail = models.ForeignKey(InboundMail, on_delete=models.CASCADE, related_name="delivery_reports")
    reported_at = models.DateTimeField(_("reported at"), default=timezone.now)

    class Meta:
        app_label = "outreach"
        ordering = ["-reported_at", "-id"]
        verbose_name = _("delivery report")
        verbose_name_plural = _("delivery reports")
        constraints = [
            models.UniqueConstraint(fields=["mail", "address"], name="deliveryreport_once_per_recipient"),
        ]

    def __str__(self) -> str:
        return f"{self.address} {self.status_code}"
