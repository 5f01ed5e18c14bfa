"""A public-form message held until its sender confirms the address (feedback/services/form_confirmation.py)."""

from __future__ import annotations

import os

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.models import Customer

from .models import Ticket


class PendingSubmission(models.Model):
    """A public-form message waiting for its sender to confirm the address by the link mailed to it: anyone
    can type anyone's email, so no ticket is opened on that customer (and no staff reply mailed) before."""

    customer = models.ForeignKey(Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("name"), max_length=200, blank=True)
    kind = models.CharField(_("kind"), max_length=20)
    subject = models.CharField(_("subject"), max_length=200)
    message = models.TextField(_("message"))
    order_reference = models.CharField(_("order number"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True, help_text=_("Stored in E.164 form."))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    ticket = models.ForeignKey(
        Ticket, verbose_name=_("ticket"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("unconfirmed form message")
        verbose_name_plural = _("unconfirmed form messages")

    def __str__(self) -> str:
        return f"#{self.pk}"


class PrivateStorage(FileSystemStorage):
    """Outside MEDIA_ROOT and with no URL: a photo is read only through the staff download view, which checks
    the reader's permission. The directory is TSUNAGU_PRIVATE_MEDIA_ROOT, read at each use (not at import)."""

    @property
    def base_location(self):
        return settings.TSUNAGU_PRIVATE_MEDIA_ROOT

    @property
    def location(self):
        return os.path.abspath(self.base_location)


def private_storage() -> FileSystemStorage:
    return PrivateStorage(base_url=None)


class FeedbackPhoto(models.Model):
    """One photo sent with a public-form message (a broken item, a label): held with the message until the
    address is confirmed, then on its ticket. Staff download it; it is never shown inline."""

    pending = models.OneToOneField(
        PendingSubmission,
        verbose_name=_("unconfirmed form message"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="photo",
    )
    ticket = models.ForeignKey(
        Ticket, verbose_name=_("ticket"), on_delete=models.CASCADE, null=True, blank=True, related_name="photos"
    )
    file = models.FileField(_("file"), storage=private_storage, upload_to="feedback/%Y/%m/", max_length=200)
    content_type = models.CharField(_("type"), max_length=30)
    size = models.PositiveIntegerField(_("size"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("photo")
        verbose_name_plural = _("photos")

    def __str__(self) -> str:
        return f"#{self.pk}"
