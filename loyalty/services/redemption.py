"""Spending points on rewards, and cancelling a redemption. Locks are taken membership first, then reward."""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import uuid
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.signals import send_after_commit
from touchpoints.models import Touchpoint, TouchpointType
from touchpoints.services import touchpoint_record

from .. import events, reasons
from ..member.rewards_cache import card_rewards_forget
from ..models import LedgerEntry, Membership, Redemption, Reward
from .ledger import KEY_MAX, InsufficientPoints, Kind, Source, _apply, _debit, _lock
from .membership import CODE_ALPHABET

logger = logging.getLogger(__name__)


class OutOfStock(ValidationError):
    """The reward's stock is used up (the API answers 409)."""


def _voucher_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(10))
    return f"{raw[:5]}-{raw[5:]}"


def new_idempotency_key() -> str:
    return uuid.uuid4().hex


def _replayed(redemption: Redemption, membership: Membership, reward: Reward) -> Redemption:
    if redemption.membership_id != membership.pk or redemption.reward_id != reward.pk:
        raise ValidationError(_("This idempotency key was already used for another redemption."))
    redemption.replayed = True
    return redemption


@transaction.atomic
def points_redeem(
    *,
    membership: Membership,
    reward: Reward,
    key: str,
    by: AbstractBaseUser | None = None,
    source: str = Redemption.Source.STAFF,
    at: dt.datetime | None = None,
) -> Redemption:
    """Spend the reward's cost and issue a voucher. The same ``key`` again returns the first redemption
    (``redemption.replayed``). Safe under concurrency: the membership, then the reward, are locked for the
    check and the writes, and the balance and stock only move by conditional UPDATEs."""
    key = (key or "").strip()
    if not key or len(key) > KEY_MAX:
        raise ValidationError(_("A redemption needs an idempotency key of 1 to 200 characters."))
    existing = Redemption.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return _replayed(existing, membership, reward)
    locked = _lock(membership.pk)
    reward = Reward.objects.select_for_update(of=("self",)).select_related("min_tier").get(pk=reward.pk)
    existing = Redemption.objects.filter(idempotency_key=key).first()  # a twin request committed while we waited
    if existing is not None:
        return _replayed(existing, locked, reward)
    at = at or timezone.now()
    _check_redeemable(locked, reward, at)
    try:
        with transaction.atomic():
            redemption = Redemption.objects.create(
                membership=locked,
                reward=reward,
                points=reward.points_cost,
                voucher_code=_voucher_code(),
                idempotency_key=key,
                source=source,
                by=by,
                created_at=at,
            )
    except IntegrityError as exc:
        raise ValidationError(_("This idempotency key was already used for another redemption.")) from exc
    _debit(
        locked,
        kind=Kind.REDEEM,
        points=reward.points_cost,
        **reasons.reason(reasons.REDEEMED, reward=reward.name),
        key=f"redeem:{redemption.pk}",
        source=LEDGER_SOURCES.get(source, Source.STAFF),
        source_ref=f"redemption:{redemption.pk}",
        redemption=redemption,
        by=by,
        created_at=at,
    )
    stock_taken = reward.stock is None or Reward.objects.filter(pk=reward.pk, stock__gte=1).update(stock=F("stock") - 1)
    if not stock_taken:
        raise OutOfStock(_("This reward is out of stock."))
    if reward.stock is not None:
        card_rewards_forget(reward.programme_id)
    redemption.touchpoint = _redemption_touchpoint_record(redemption, membership=locked, reward=reward, by=by)
    redemption.replayed = False
    send_after_commit(events.reward_redeemed, sender=Redemption, redemption=redemption)
    logger.info(
        "loyalty reward redeemed redemption=%s membership=%s reward=%s points=%s",
        redemption.pk,
        locked.pk,
        reward.pk,
        reward.points_cost,
    )
    return redemption


REDEMPTION_TOUCHPOINT_TYPE = "loyalty-activity"  # "Loyalty programme activity", retention stage (catalogue)
# Where the customer redeemed: at the counter (staff) or on the shop's site or app (the API).
REDEMPTION_CHANNELS = {
    Redemption.Source.STAFF: "store",
    Redemption.Source.API: "web",
    Redemption.Source.CARD: "web",  # the member, on their card's page
}
LEDGER_SOURCES = {
    Redemption.Source.STAFF: Source.STAFF,
    Redemption.Source.API: Source.API,
    Redemption.Source.CARD: Source.MEMBER,
}


def _redemption_touchpoint_record(
    redemption: Redemption, *, membership: Membership, reward: Reward, by: AbstractBaseUser | None
) -> Any:
    """The redemption on the customer's timeline and journey: one "loyalty programme activity" touchpoint,
    written in the redemption's own transaction (both or neither: no after-commit step to lose) under a key
    derived from the redemption, so it is recorded once whatever retries. Points earned on a purchase are
    not touchpoints (the purchase is). A missing or retired catalogue type records nothing: Marketing edits
    the catalogue, and a redemption must still go through."""
    touchpoint_type = TouchpointType.objects.filter(slug=REDEMPTION_TOUCHPOINT_TYPE, is_active=True).first()
    if touchpoint_type is None:
        logger.warning("touchpoint type %r missing or inactive: no touchpoint for redemption %s",
                       REDEMPTION_TOUCHPOINT_TYPE, redemption.pk)  # fmt: skip
        return None
    if redemption.source == Redemption.Source.API:
        source = Touchpoint.Source.API
    else:
        source = Touchpoint.Source.STAFF if by is not None else Touchpoint.Source.SYSTEM
    return touchpoint_record(
        customer=membership.customer,
        touchpoint_type=touchpoint_type,
        channel=REDEMPTION_CHANNELS.get(redemption.source, "other"),
        direction="inbound",
        occurred_at=redemption.created_at,
        summary=_("Redeemed %(reward)s (%(points)s points)")
        % {"reward": reward.name, "points": f"{redemption.points:,}"},
        metadata={"redemption": redemption.pk, "reward": reward.pk, "points": redemption.points},
        idempotency_key=f"loyalty:redemption:{redemption.pk}",
        by=by,
        source=source,
    )


def _check_redeemable(membership: Membership, reward: Reward, at: dt.datetime) -> None:
    if not membership.is_active:
        raise ValidationError(_("This membership is not active."))
    if not membership.programme.is_active:
        raise ValidationError(_("This programme is not active."))
    if reward.programme_id != membership.programme_id:
        raise ValidationError({"reward": _("This reward belongs to another programme.")})
    if not reward.is_active:
        raise ValidationError({"reward": _("This reward is not offered any more.")})
    if (reward.available_from and at < reward.available_from) or (
        reward.available_until and at >= reward.available_until
    ):
        raise ValidationError({"reward": _("This reward is not available at the moment.")})
    if reward.min_tier_id and (not membership.tier_id or membership.tier.position < reward.min_tier.position):
        raise ValidationError({"reward": _("This reward needs a higher tier.")})
    if reward.stock is not None and reward.stock <= 0:
        raise OutOfStock({"reward": _("This reward is out of stock.")})
    if membership.balance < reward.points_cost:
        raise InsufficientPoints(
            _("Not enough points: %(cost)d needed, %(balance)d available.")
            % {"cost": reward.points_cost, "balance": membership.balance}
        )


@transaction.atomic
def redemption_cancel(
    *, redemption: Redemption, reason: str = "", by: AbstractBaseUser | None = None, at: dt.datetime | None = None
) -> Redemption:
    """Cancel a redemption: each lot gets back what it gave (the nightly expiry takes what is past its date),
    the reward its stock. Cancelling twice changes nothing.

    The redemption's touchpoint stays on the customer's journey (the customer did redeem); the cancellation
    shows on the same timeline as this reversal entry of the ledger, not as a second touchpoint."""
    at = at or timezone.now()
    membership = _lock(redemption.membership_id)
    redemption = Redemption.objects.select_for_update().select_related("reward").get(pk=redemption.pk)
    if redemption.status == Redemption.Status.CANCELLED:
        return redemption
    spent = LedgerEntry.objects.get(redemption=redemption, kind=Kind.REDEEM)
    for lot_id, points in spent.allocations.items():
        LedgerEntry.objects.filter(pk=int(lot_id), membership=membership).update(remaining=F("remaining") + points)
    entry = LedgerEntry.objects.create(
        membership=membership,
        kind=Kind.REVERSE,
        points=redemption.points,
        allocations=spent.allocations,
        **reasons.reason(reasons.CANCELLED, reward=redemption.reward.name, note=reason.strip()),
        source=Source.STAFF,
        source_ref=f"redemption:{redemption.pk}",
        redemption=redemption,
        by=by,
        key=f"cancel:{redemption.pk}",
        created_at=at,
    )
    _apply(membership, entry)
    if Reward.objects.filter(pk=redemption.reward_id, stock__isnull=False).update(stock=F("stock") + 1):
        card_rewards_forget(redemption.reward.programme_id)
    redemption.status = Redemption.Status.CANCELLED
    redemption.cancelled_at = at
    redemption.cancel_reason = reason.strip()[:300]
    redemption.save(update_fields=["status", "cancelled_at", "cancel_reason"])
    logger.info("loyalty redemption cancelled redemption=%s by=%s", redemption.pk, getattr(by, "pk", None))
    return redemption
