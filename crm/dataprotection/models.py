"""A customer's privacy request (APPI / GDPR): a disclosure, an erasure, or an anonymisation by the retention policy.

Each request is a record of what was asked, by whom it was handled and when it was done; the services never delete
one. The customer's id is copied into ``customer_ref``: the record keeps naming the customer after the customer's
row is anonymised (or deleted, which sets the foreign key to NULL).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class DataRequest(models.Model):
    class Kind(models.TextChoices):
        DISCLOSURE = "disclosure", _("Disclosure")
        ERASURE = "erasure", _("Erasure")
        RETENTION = "retention", _("Retention anonymisation")

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        COMPLETED = "completed", _("Completed")

    class Via(models.TextChoices):
        EMAIL = "email", _("Email")
        PHONE = "phone", _("Phone")
        LETTER = "letter", _("Letter")
        IN_PERSON = "in_person", _("In person")
        WEB = "web", _("Web form")
        POLICY = "policy", _("Retention policy")

    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    customer_ref = models.BigIntegerField(_("customer ID"), db_index=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.RECEIVED)
    received_via = models.CharField(_("received via"), max_length=10, choices=Via.choices, default=Via.EMAIL)
    note = models.TextField(_("note"), max_length=2000, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("handled by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # What an erasure changed (rows per kind), or how many times the archive was downloaded.
    outcome = models.JSONField(_("outcome"), default=dict, blank=True)
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = _("privacy request")
        verbose_name_plural = _("privacy requests")
        permissions = [("erase_customer", _("Can erase a customer's personal data"))]
        indexes = [models.Index(fields=["-requested_at", "-id"], name="datarequest_requested_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.customer_ref}"

    def get_absolute_url(self) -> str:
        return reverse("dataprotection:detail", args=[self.pk])

    @property
    def handled_by_label(self) -> str:
        if self.handled_by_id:
            return self.handled_by.get_username()
        return str(_("Retention policy")) if self.kind == self.Kind.RETENTION else "—"
