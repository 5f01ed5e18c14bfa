"""Joining a programme and a membership's status."""

from __future__ import annotations

import datetime as dt
import logging
import secrets

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Customer

from ..models import LoyaltyAccount, Membership, Programme, Tier, TierChange
from .ledger import _lock

logger = logging.getLogger(__name__)


CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud over the phone


def _member_number() -> str:
    """Nine random digits and a Luhn check digit (a mistyped number is caught at the till)."""
    digits = [secrets.randbelow(10) for _ in range(9)]
    digits[0] = digits[0] or 1
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 0:
            d *= 2
            d -= 9 if d > 9 else 0
        total += d
    return "".join(map(str, digits)) + str((10 - total % 10) % 10)


def _referral_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))


def entry_tier(programme: Programme | int) -> Tier | None:
    """The tier a new member starts in: the highest one that needs nothing."""
    return Tier.objects.filter(programme=programme, threshold__lte=0).order_by("-position").first()


@transaction.atomic
def membership_join(
    *,
    customer: Customer,
    programme: Programme,
    referral_code: str = "",
    by: AbstractBaseUser | None = None,
    joined_at: dt.datetime | None = None,
) -> Membership:
    """Join ``customer`` to ``programme``, with the referral code of the member who brought them, if any."""
    if not programme.is_active:
        raise ValidationError({"programme": _("This programme is not active.")})
    # Serialise this customer's joins (and their account row) with each other.
    Customer.objects.select_for_update(no_key=True).filter(pk=customer.pk).values_list("pk", flat=True).get()
    if Membership.objects.filter(customer=customer, programme=programme).exists():
        raise ValidationError({"programme": _("The customer is already a member of this programme.")})
    referrer = None
    referral_code = (referral_code or "").strip().upper()
    if referral_code:
        referrer = Membership.objects.filter(programme=programme, referral_code=referral_code).first()
        if referrer is None:
            raise ValidationError({"referral_code": _("No member of this programme has this referral code.")})
        if referrer.customer_id == customer.pk:
            raise ValidationError({"referral_code": _("A customer cannot refer themselves.")})
    joined_at = joined_at or timezone.now()
    tier = entry_tier(programme)
    membership = None
    for _attempt in range(5):
        candidate = Membership(
            customer=customer,
            programme=programme,
            member_number=_member_number(),
            referral_code=_referral_code(),
            referred_by=referrer,
            tier=tier,
            tier_since=joined_at if tier else None,
            joined_at=joined_at,
            joined_on=timezone.localdate(joined_at),
        )
        try:
            with transaction.atomic():
                candidate.save()
        except IntegrityError:
            if Membership.objects.filter(customer=customer, programme=programme).exists():
                raise ValidationError({"programme": _("The customer is already a member of this programme.")}) from None
            continue  # a member number or referral code drawn twice: draw again
        membership = candidate
        break
    if membership is None:
        raise RuntimeError("could not draw a free member number")
    if tier:
        TierChange.objects.create(membership=membership, to_tier=tier, reason=TierChange.Reason.JOIN, at=joined_at)
    account, created = LoyaltyAccount.objects.get_or_create(
        customer=customer, defaults={"memberships": 1, "created_at": joined_at}
    )
    if not created:
        LoyaltyAccount.objects.filter(pk=account.pk).update(memberships=F("memberships") + 1)
    logger.info(
        "loyalty member joined membership=%s customer=%s programme=%s referred_by=%s by=%s",
        membership.pk,
        customer.pk,
        programme.pk,
        getattr(referrer, "pk", None),
        getattr(by, "pk", None),
    )
    return membership


@transaction.atomic
def membership_set_status(*, membership: Membership, status: str, by: AbstractBaseUser | None = None) -> Membership:
    if status not in Membership.Status.values:
        raise ValidationError({"status": _("Unknown status.")})
    membership = _lock(membership.pk)
    membership.status = status
    membership.closed_at = timezone.now() if status == Membership.Status.CLOSED else None
    membership.save(update_fields=["status", "closed_at", "updated_at"])
    logger.info("loyalty membership %s status=%s by=%s", membership.pk, status, getattr(by, "pk", None))
    return membership
