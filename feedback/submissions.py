"""A public-form message held until its sender confirms the address (feedback/services/form_confirmation.py)."""

from __future__ import annotations

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
