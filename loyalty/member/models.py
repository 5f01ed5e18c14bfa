"""The member card: the opaque token a card's QR code holds, and what makes it revocable.

Imported by ``loyalty/models.py`` (the models of the loyalty app); kept apart to keep that module readable.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class MemberCard(models.Model):
    """One issued card of a membership. Only its token's SHA-256 is stored: the token itself is derived from
    ``salt`` with the secret key when the card is shown (``loyalty.services.cards.card_token``), so a copy of the
    database alone cannot forge a card. "Reissue card" revokes the active card (its links and card sessions
    die with it) and issues a new one; at most one card of a membership is active."""

    membership = models.ForeignKey(
        "loyalty.Membership", verbose_name=_("membership"), on_delete=models.CASCADE, related_name="cards"
    )
    token_hash = models.CharField(_("token hash"), max_length=64, unique=True, editable=False)
    salt = models.CharField(max_length=64, editable=False)
    issued_at = models.DateTimeField(_("issued at"), default=timezone.now)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("issued by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("revoked by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        app_label = "loyalty"
        ordering = ["-issued_at", "-id"]
        verbose_name = _("member card")
        verbose_name_plural = _("member cards")
        constraints = [
            models.UniqueConstraint(
                fields=["membership"], condition=Q(revoked_at__isnull=True), name="loyalty_card_one_active"
            ),
        ]

    def __str__(self) -> str:
        return f"card {self.pk} of membership {self.membership_id}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
