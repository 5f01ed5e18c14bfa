"""Writes to loyalty: memberships, the points ledger, tiers, rewards, redemptions, greetings.

Views, the admin, the API, receivers and Celery tasks all come here, so each rule is written once:
- every change of points is one ``LedgerEntry`` with a unique key (a retry with the same key gets the
  first entry back), written with the membership row locked, and the balance moves in the same
  transaction (``CHECK balance >= 0`` is the backstop);
- locks are always taken in the same order: the membership, then the reward; lots are only ever
  touched under their membership's lock;
- points are spent from the lots that expire first, and each lot keeps what is left of it, so expiry
  only ever takes points that were not spent;
- greetings are rows (one per customer, kind and occasion), scheduled by the daily job or by the event
  that caused them, and handed to the outreach outbox by the dispatcher;
- a redemption is also a "loyalty programme activity" touchpoint on the customer's journey, recorded in the
  redemption's transaction under a key derived from it (points earned on a purchase are not: the purchase is);
- services that write history take the time of the event (``at``/``now``, default now): the ledger is
  append-only, so the demo seeder (``manage.py seed_loyalty``) replays past events at their time.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import logging
import secrets
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Min, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Customer

from . import events
from .models import (
    Greeting,
    LedgerEntry,
    LoyaltyAccount,
    Membership,
    Programme,
    Redemption,
    Reward,
    Tier,
    TierChange,
)
from .querysets import twelve_months_before  # noqa: F401 (re-exported for tests and tasks)

logger = logging.getLogger(__name__)

Kind = LedgerEntry.Kind
Source = LedgerEntry.Source

KEY_MAX = 200
POINTS_MAX = 100_000_000  # one adjustment, one lot: far above anything real, far below the column's limit
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud over the phone


class InsufficientPoints(ValidationError):
    """The balance is short (the API answers 409)."""


class OutOfStock(ValidationError):
    """The reward's stock is used up (the API answers 409)."""


# --- Dates ----------------------------------------------------------------------------------------


def local_today() -> dt.date:
    """Today in the business time zone (settings.TIME_ZONE), whatever the server's clock zone."""
    return timezone.localdate()


def add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


def same_day_days(today: dt.date) -> list[int]:
    """Days of the month whose anniversaries fall on ``today``: 29 February is kept on 28 February in
    years without one (RELIABILITY.md), so that it is greeted every year and only once."""
    if today.month == 2 and today.day == 28 and not calendar.isleap(today.year):
        return [28, 29]
    return [today.day]


def _expiry_date(programme: Programme, today: dt.date) -> dt.date | None:
    if not programme.points_lifetime_months:
        return None
    return add_months(today, programme.points_lifetime_months)


def greeting_send_after(day: dt.date) -> dt.datetime:
    """Greetings go out from TSUNAGU_LOYALTY_GREETING_HOUR on their day, in the business time zone."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour=settings.TSUNAGU_LOYALTY_GREETING_HOUR)))


# --- Programmes, tiers, rewards (setup) -----------------------------------------------------------


def _save_model(instance, *, exclude: Iterable[str] = ()) -> None:
    instance.full_clean(exclude=list(exclude))
    try:
        with transaction.atomic():
            instance.save()
    except IntegrityError as exc:
        raise ValidationError(_("This clashes with an existing entry (a name or position already in use).")) from exc


@transaction.atomic
def programme_save(*, programme: Programme) -> Programme:
    programme.name = " ".join((programme.name or "").split())
    programme.currency = (programme.currency or "").upper()
    if Programme.objects.filter(name__iexact=programme.name).exclude(pk=programme.pk).exists():
        raise ValidationError({"name": _("A programme with this name already exists.")})
    _save_model(programme)
    return programme


def _number(value: Decimal) -> str:
    """1,000 for 1000.00; 12.5 as it is."""
    return f"{value:,.0f}" if value == value.to_integral_value() else f"{value:,}"


@transaction.atomic
def tier_save(*, tier: Tier) -> Tier:
    tier.name = " ".join((tier.name or "").split())
    clash = Tier.objects.filter(programme_id=tier.programme_id).exclude(pk=tier.pk)
    if clash.filter(name__iexact=tier.name).exists():
        raise ValidationError({"name": _("This programme already has a tier with this name.")})
    if clash.filter(position=tier.position).exists():
        raise ValidationError({"position": _("This programme already has a tier at this position.")})
    # Members climb the tiers in their order: a later tier must ask for more than every earlier one, or members
    # above its threshold would "rise" into it from a higher tier. The programme's tiers are locked while checking.
    others = list(clash.select_for_update().order_by("position").values_list("name", "position", "threshold"))
    below = [(name, threshold) for name, position, threshold in others if position < tier.position]
    above = [(name, threshold) for name, position, threshold in others if position > tier.position]
    if below and tier.threshold is not None and tier.threshold <= max(t for _n, t in below):
        name, threshold = max(below, key=lambda item: item[1])
        raise ValidationError(
            {
                "threshold": _("Set more than %(threshold)s, the threshold of “%(name)s”, an earlier tier.")
                % {"threshold": _number(threshold), "name": name}
            }
        )
    if above and tier.threshold is not None and tier.threshold >= min(t for _n, t in above):
        name, threshold = min(above, key=lambda item: item[1])
        raise ValidationError(
            {
                "threshold": _("Set less than %(threshold)s, the threshold of “%(name)s”, a later tier.")
                % {"threshold": _number(threshold), "name": name}
            }
        )
    _save_model(tier)
    return tier


@transaction.atomic
def reward_save(*, reward: Reward) -> Reward:
    if reward.min_tier_id and reward.min_tier.programme_id != reward.programme_id:
        raise ValidationError({"min_tier": _("Choose a tier of the reward's programme.")})
    _save_model(reward)
    return reward


# --- Joining --------------------------------------------------------------------------------------


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


# --- The ledger's core: lock, credit, debit -------------------------------------------------------


def _lock(membership_id: int) -> Membership:
    """The membership, locked for the rest of the transaction (evaluated here, so the lock is really taken)."""
    return Membership.objects.select_for_update(of=("self",)).select_related("programme", "tier").get(pk=membership_id)


def _lifetime_delta(entry: LedgerEntry) -> int:
    """Lifetime points: everything credited, net of reversals and adjustments; not spending or expiry."""
    if entry.kind in (Kind.REDEEM, Kind.EXPIRE) or entry.redemption_id:
        return 0
    return entry.points


def _apply(membership: Membership, entry: LedgerEntry, **also: Any) -> None:
    """Move the balance (and lifetime points) by the entry, in step, never below zero."""
    lifetime = _lifetime_delta(entry)
    qs = Membership.objects.filter(pk=membership.pk)
    if entry.points < 0:
        qs = qs.filter(balance__gte=-entry.points)
    updated = qs.update(balance=F("balance") + entry.points, lifetime_points=F("lifetime_points") + lifetime, **also)
    if updated != 1:
        raise InsufficientPoints(_("Not enough points."))
    membership.balance += entry.points
    membership.lifetime_points += lifetime


def _existing(key: str) -> LedgerEntry | None:
    return LedgerEntry.objects.filter(key=key).first()


def _check_key(key: str) -> str:
    if not key or not isinstance(key, str) or len(key) > KEY_MAX:
        raise ValueError(f"a ledger key of 1 to {KEY_MAX} characters is needed, not {key!r}")
    return key


def _credit(
    membership: Membership,
    *,
    kind: str,
    points: int,
    reason: str,
    key: str,
    source: str,
    today: dt.date | None = None,
    also: dict[str, Any] | None = None,
    **fields: Any,
) -> LedgerEntry:
    """Add a lot of ``points`` (the caller holds the membership's lock and checked the key)."""
    if points < 0 or points > POINTS_MAX:
        raise ValidationError(_("Points out of range."))
    entry = LedgerEntry.objects.create(
        membership=membership,
        kind=kind,
        points=points,
        remaining=points,
        expires_on=_expiry_date(membership.programme, today or local_today()),
        reason=reason[:300],
        source=source,
        key=_check_key(key),
        **fields,
    )
    _apply(membership, entry, **(also or {}))
    return entry


def _take_from_lots(membership: Membership, points: int, *, prefer: Iterable[int] = ()) -> dict[str, int]:
    """Take ``points`` from the membership's open lots, the ``prefer``red ones first, then those that expire
    first. Returns {lot id: points taken}. Two UPDATEs at most, whatever the number of lots."""
    if points <= 0:
        return {}
    lots = list(LedgerEntry.objects.filter(membership=membership).open_lots().values_list("id", "remaining"))
    preferred = set(prefer)
    if preferred:
        lots.sort(key=lambda lot: lot[0] not in preferred)  # stable: keeps the expiry order otherwise
    taken: dict[int, int] = {}
    left = points
    for lot_id, remaining in lots:
        if left == 0:
            break
        take = min(remaining, left)
        taken[lot_id] = take
        left -= take
    if left:
        raise InsufficientPoints(_("Not enough points."))
    remaining_of = dict(lots)
    emptied = [lot_id for lot_id, take in taken.items() if take == remaining_of[lot_id]]
    if emptied:
        LedgerEntry.objects.filter(pk__in=emptied).update(remaining=0)
    for lot_id, take in taken.items():
        if take != remaining_of[lot_id]:
            LedgerEntry.objects.filter(pk=lot_id).update(remaining=F("remaining") - take)
    return {str(lot_id): take for lot_id, take in taken.items()}


def _debit(
    membership: Membership,
    *,
    kind: str,
    points: int,
    reason: str,
    key: str,
    source: str,
    prefer: Iterable[int] = (),
    **fields: Any,
) -> LedgerEntry:
    """Take ``points`` (>= 0) from the membership, lots that expire first first (the caller holds the lock)."""
    if membership.balance < points:
        raise InsufficientPoints(_("Not enough points."))
    allocations = _take_from_lots(membership, points, prefer=prefer)
    entry = LedgerEntry.objects.create(
        membership=membership,
        kind=kind,
        points=-points,
        allocations=allocations,
        reason=reason[:300],
        source=source,
        key=_check_key(key),
        **fields,
    )
    _apply(membership, entry)
    return entry


# --- Earning on purchases, reversing on returns ---------------------------------------------------


def _points_for(amount: Decimal, programme: Programme, tier: Tier | None) -> int:
    multiplier = tier.multiplier if tier else Decimal(1)
    return int((Decimal(amount) * programme.earn_rate * multiplier).to_integral_value(rounding=ROUND_DOWN))


def points_earn_for_purchase(*, touchpoint, at: dt.datetime | None = None) -> list[LedgerEntry]:
    """Earn points for a purchase touchpoint in each of the customer's active memberships (receiver of
    ``touchpoints.events.touchpoint_recorded``). Each membership is its own transaction; a replay earns nothing.

    ``at``: when the entries are written (default now). The demo seeder replays past purchases at their time,
    so that the ledger, the tier qualification window and the lots' expiry are as real use would have left them."""
    from touchpoints.models import TouchpointType

    if touchpoint.type.kind != TouchpointType.Kind.PURCHASE:
        return []
    membership_ids = list(
        Membership.objects.active()
        .filter(customer_id=touchpoint.customer_id, programme__is_active=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    entries = []
    for membership_id in membership_ids:
        entry = _purchase_earn(membership_id=membership_id, touchpoint=touchpoint, at=at)
        if entry is not None:
            entries.append(entry)
    return entries


@transaction.atomic
def _purchase_earn(*, membership_id: int, touchpoint, at: dt.datetime | None = None) -> LedgerEntry | None:
    membership = _lock(membership_id)
    key = f"earn:tp{touchpoint.pk}:m{membership_id}"
    existing = _existing(key)
    if existing is not None:
        return existing
    if not membership.is_active or membership.programme.currency != touchpoint.currency:
        return None
    now = at or timezone.now()
    today = timezone.localdate(touchpoint.occurred_at) if touchpoint.occurred_at else local_today()
    today = min(today, timezone.localdate(now))
    points = _points_for(touchpoint.amount or 0, membership.programme, membership.tier)
    reference = touchpoint.order_reference
    reason = _("Purchase %(ref)s") % {"ref": reference} if reference else _("Purchase")
    entry = _credit(
        membership,
        kind=Kind.EARN,
        points=points,
        reason=reason,
        key=key,
        source=Source.PURCHASE,
        source_ref=f"touchpoint:{touchpoint.pk}",
        touchpoint=touchpoint,
        order_reference=reference,
        amount=touchpoint.amount,
        today=today,
        also={"purchase_count": F("purchase_count") + 1},
        created_at=now,
    )
    membership.purchase_count += 1
    if membership.referred_by_id and membership.referral_rewarded_at is None:
        _referral_reward(membership, now=now)
    if membership.purchase_count in membership.programme.milestone_numbers:
        _greeting_schedule(
            membership,
            kind=Greeting.Kind.PURCHASE,
            occasion=f"{membership.pk}:{membership.purchase_count}",
            detail=str(membership.purchase_count),
            bonus=membership.programme.purchase_milestone_bonus,
            due_on=timezone.localdate(now),
        )
    _tier_evaluate(membership, today=timezone.localdate(now), now=now)
    return entry


def _referral_reward(referee: Membership, *, now: dt.datetime) -> None:
    """The referee's first purchase: both sides get their bonus, once (a claimed timestamp and unique keys)."""
    claimed = Membership.objects.filter(pk=referee.pk, referral_rewarded_at__isnull=True).update(
        referral_rewarded_at=now
    )
    if not claimed:
        return
    programme = referee.programme
    if programme.referee_bonus:
        key = f"referral:m{referee.pk}:referee"
        if _existing(key) is None:
            _credit(
                referee,
                kind=Kind.REFERRAL,
                points=programme.referee_bonus,
                reason=_("Welcome bonus: joined on a friend's referral"),
                key=key,
                source=Source.SYSTEM,
                source_ref=f"membership:{referee.referred_by_id}",
                today=timezone.localdate(now),
                created_at=now,
            )
    if programme.referrer_bonus:
        referrer = _lock(referee.referred_by_id)
        key = f"referral:m{referee.pk}:referrer"
        if referrer.is_active and _existing(key) is None:
            _credit(
                referrer,
                kind=Kind.REFERRAL,
                points=programme.referrer_bonus,
                reason=_("Referral bonus: member %(number)s made their first purchase")
                % {"number": referee.member_number},
                key=key,
                source=Source.SYSTEM,
                source_ref=f"membership:{referee.pk}",
                today=timezone.localdate(now),
                created_at=now,
            )


def points_reverse_for_return(*, touchpoint, at: dt.datetime | None = None) -> list[LedgerEntry]:
    """Take back the points of the purchase a return touchpoint refers to (by order reference), in each
    membership that earned on it; a partial return takes back its share. Never below a zero balance."""
    from touchpoints.models import TouchpointType

    if touchpoint.type.kind != TouchpointType.Kind.RETURN or not touchpoint.order_reference:
        return []
    membership_ids = list(
        LedgerEntry.objects.filter(
            membership__customer_id=touchpoint.customer_id, kind=Kind.EARN, order_reference=touchpoint.order_reference
        )
        .order_by("membership_id")
        .values_list("membership_id", flat=True)
        .distinct()
    )
    entries = []
    for membership_id in membership_ids:
        entry = _return_reverse(membership_id=membership_id, touchpoint=touchpoint, at=at)
        if entry is not None:
            entries.append(entry)
    return entries


@transaction.atomic
def _return_reverse(*, membership_id: int, touchpoint, at: dt.datetime | None = None) -> LedgerEntry | None:
    membership = _lock(membership_id)
    key = f"reverse:tp{touchpoint.pk}:m{membership_id}"
    existing = _existing(key)
    if existing is not None:
        return existing
    reference = touchpoint.order_reference
    rows = list(
        LedgerEntry.objects.filter(
            membership_id=membership_id, order_reference=reference, kind__in=[Kind.EARN, Kind.REVERSE]
        ).values_list("id", "kind", "points", "amount")
    )
    earn_lots = [row[0] for row in rows if row[1] == Kind.EARN]
    earned = sum(row[2] for row in rows if row[1] == Kind.EARN)
    bought = sum((row[3] or Decimal(0) for row in rows if row[1] == Kind.EARN), Decimal(0))
    reversed_points = -sum(row[2] for row in rows if row[1] == Kind.REVERSE)
    returned = -sum((row[3] or Decimal(0) for row in rows if row[1] == Kind.REVERSE), Decimal(0))
    left_to_return = max(bought - returned, Decimal(0))
    if touchpoint.amount is None or bought <= 0:
        this_amount, target = left_to_return, earned
    else:
        this_amount = min(Decimal(touchpoint.amount), left_to_return)
        target = int((earned * (returned + this_amount) / bought).to_integral_value(rounding=ROUND_DOWN))
    to_reverse = max(min(target, earned) - reversed_points, 0)
    if to_reverse == 0 and this_amount == 0:
        return None
    recoverable = min(to_reverse, membership.balance)
    reason = _("Return of order %(ref)s") % {"ref": reference}
    if recoverable < to_reverse:
        reason += " " + _("(%(n)d points already spent could not be taken back)") % {"n": to_reverse - recoverable}
    return _debit(
        membership,
        kind=Kind.REVERSE,
        points=recoverable,
        reason=reason,
        key=key,
        source=Source.PURCHASE,
        source_ref=f"touchpoint:{touchpoint.pk}",
        touchpoint=touchpoint,
        order_reference=reference,
        amount=-this_amount,
        prefer=earn_lots,
        created_at=at or timezone.now(),
    )


# --- Manual adjustment ----------------------------------------------------------------------------


@transaction.atomic
def points_adjust(
    *, membership: Membership, points: int, reason: str, key: str, by: AbstractBaseUser | None = None
) -> LedgerEntry:
    """Add (a new lot) or remove (lots that expire first first) points by hand, with a reason."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationError({"reason": _("Say why the points are adjusted.")})
    if not isinstance(points, int) or points == 0 or abs(points) > POINTS_MAX:
        raise ValidationError({"points": _("Enter a number of points other than zero.")})
    key = f"adjust:{key}"
    membership = _lock(membership.pk)
    existing = _existing(key)
    if existing is not None:
        return existing
    by_ref = f"user:{by.pk}" if by is not None else ""
    if points > 0:
        entry = _credit(
            membership,
            kind=Kind.ADJUST,
            points=points,
            reason=reason,
            key=key,
            source=Source.STAFF,
            by=by,
            source_ref=by_ref,
        )
    else:
        if membership.balance < -points:
            raise ValidationError({"points": _("The member has only %(n)s points.") % {"n": f"{membership.balance:,}"}})
        entry = _debit(
            membership,
            kind=Kind.ADJUST,
            points=-points,
            reason=reason,
            key=key,
            source=Source.STAFF,
            by=by,
            source_ref=by_ref,
        )
    logger.info("loyalty points adjusted membership=%s points=%+d by=%s", membership.pk, points, by_ref)
    return entry


# --- Redemption -----------------------------------------------------------------------------------


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
        reason=_("Redeemed: %(reward)s") % {"reward": reward.name},
        key=f"redeem:{redemption.pk}",
        source=Source.API if source == Redemption.Source.API else Source.STAFF,
        source_ref=f"redemption:{redemption.pk}",
        redemption=redemption,
        by=by,
        created_at=at,
    )
    stock_taken = reward.stock is None or Reward.objects.filter(pk=reward.pk, stock__gte=1).update(stock=F("stock") - 1)
    if not stock_taken:
        raise OutOfStock(_("This reward is out of stock."))
    redemption.touchpoint = _redemption_touchpoint_record(redemption, membership=locked, reward=reward, by=by)
    redemption.replayed = False
    transaction.on_commit(lambda: events.reward_redeemed.send_robust(sender=Redemption, redemption=redemption))
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
REDEMPTION_CHANNELS = {Redemption.Source.STAFF: "store", Redemption.Source.API: "web"}


def _redemption_touchpoint_record(
    redemption: Redemption, *, membership: Membership, reward: Reward, by: AbstractBaseUser | None
) -> Any:
    """The redemption on the customer's timeline and journey: one "loyalty programme activity" touchpoint,
    written in the redemption's own transaction (both or neither: no after-commit step to lose) under a key
    derived from the redemption, so it is recorded once whatever retries. Points earned on a purchase are
    not touchpoints (the purchase is). A missing or retired catalogue type records nothing: Marketing edits
    the catalogue, and a redemption must still go through."""
    from touchpoints.models import Touchpoint, TouchpointType
    from touchpoints.services import touchpoint_record

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
        reason=(_("Cancelled: %(reward)s") % {"reward": redemption.reward.name})
        + (f" — {reason.strip()}" if reason.strip() else ""),
        source=Source.STAFF,
        source_ref=f"redemption:{redemption.pk}",
        redemption=redemption,
        by=by,
        key=f"cancel:{redemption.pk}",
        created_at=at,
    )
    _apply(membership, entry)
    Reward.objects.filter(pk=redemption.reward_id, stock__isnull=False).update(stock=F("stock") + 1)
    redemption.status = Redemption.Status.CANCELLED
    redemption.cancelled_at = at
    redemption.cancel_reason = reason.strip()[:300]
    redemption.save(update_fields=["status", "cancelled_at", "cancel_reason"])
    logger.info("loyalty redemption cancelled redemption=%s by=%s", redemption.pk, getattr(by, "pk", None))
    return redemption


# --- Expiry ---------------------------------------------------------------------------------------


def points_expire(*, today: dt.date | None = None, chunk: int = 500, at: dt.datetime | None = None) -> int:
    """Expire what is left of every lot valid through a day before ``today``: one ``expire`` entry per
    membership and run, each membership in its own transaction. Returns the points expired.
    ``at``: when the entries are written (default now; the demo seeder runs past nights)."""
    today = today or local_today()
    total, last = 0, 0
    while True:
        membership_ids = list(
            LedgerEntry.objects.filter(remaining__gt=0, expires_on__lt=today, membership_id__gt=last)
            .order_by("membership_id")
            .values_list("membership_id", flat=True)
            .distinct()[:chunk]
        )
        if not membership_ids:
            return total
        last = membership_ids[-1]
        for membership_id in membership_ids:
            try:
                total += _membership_expire(membership_id=membership_id, today=today, at=at)
            except Exception:
                logger.exception("loyalty expiry failed for membership %s", membership_id)


@transaction.atomic
def _membership_expire(*, membership_id: int, today: dt.date, at: dt.datetime | None = None) -> int:
    membership = _lock(membership_id)
    lots = list(
        LedgerEntry.objects.filter(membership_id=membership_id, remaining__gt=0, expires_on__lt=today)
        .order_by("expires_on", "id")
        .values_list("id", "remaining", "expires_on")
    )
    if not lots:
        return 0
    points = sum(lot[1] for lot in lots)
    digest = hashlib.sha256(repr([(lot[0], lot[1]) for lot in lots]).encode()).hexdigest()[:16]
    LedgerEntry.objects.filter(pk__in=[lot[0] for lot in lots]).update(remaining=0)
    entry = LedgerEntry.objects.create(
        membership=membership,
        kind=Kind.EXPIRE,
        points=-points,
        allocations={str(lot[0]): lot[1] for lot in lots},
        reason=_("Points valid until %(day)s expired") % {"day": lots[-1][2].isoformat()},
        source=Source.JOB,
        source_ref="points_expire",
        key=f"expire:m{membership_id}:{today.isoformat()}:{digest}",
        created_at=at or timezone.now(),
    )
    _apply(membership, entry)
    return points


def expiry_reminders_schedule(*, today: dt.date | None = None, catch_up_days: int = 3) -> int:
    """Schedule a reminder for points that expire in the programme's reminder period: one per membership and
    expiry day (a run missed on the previous ``catch_up_days`` nights is caught up). Returns how many."""
    today = today or local_today()
    created = 0
    programmes = Programme.objects.active().filter(points_lifetime_months__isnull=False, expiry_reminder_days__gt=0)
    for programme in programmes:
        horizon = today + dt.timedelta(days=programme.expiry_reminder_days)
        rows = (
            LedgerEntry.objects.filter(
                remaining__gt=0,
                expires_on__gte=horizon - dt.timedelta(days=catch_up_days),
                expires_on__lte=horizon,
                membership__programme=programme,
                membership__status=Membership.Status.ACTIVE,
            )
            .order_by()
            .values("membership_id", "membership__customer_id", "expires_on")
            .annotate(points=Sum("remaining"))
        )
        greetings = [
            Greeting(
                customer_id=row["membership__customer_id"],
                membership_id=row["membership_id"],
                kind=Greeting.Kind.POINTS_EXPIRING,
                occasion=f"{row['membership_id']}:{row['expires_on'].isoformat()}",
                detail=row["expires_on"].isoformat(),
                due_on=today,
            )
            for row in rows
        ]
        created += _greetings_insert(greetings)
    return created


# --- Tiers ----------------------------------------------------------------------------------------


def _tier_for(tiers: list[Tier], value: Decimal) -> Tier | None:
    reached = None
    for tier in tiers:  # by position
        if tier.threshold <= value:
            reached = tier
    return reached


def qualifying_value(membership: Membership, *, today: dt.date | None = None) -> Decimal:
    """Points earned on purchases, or the amount spent, in the 12 months to ``today``, net of returns."""
    totals = (
        LedgerEntry.objects.filter(membership_id=membership.pk)
        .qualifying(since=twelve_months_before(today or local_today()))
        .aggregate(points=Sum("points"), amount=Sum("amount"))
    )
    if membership.programme.tier_basis == Programme.TierBasis.AMOUNT:
        return Decimal(totals["amount"] or 0)
    return Decimal(totals["points"] or 0)


def _tier_evaluate(membership: Membership, *, today: dt.date, now: dt.datetime | None = None) -> TierChange | None:
    """Upgrade as soon as the threshold is crossed (the caller holds the lock); clear a pending downgrade
    when the member qualifies again. Downgrades wait for the yearly review (``tiers_review``)."""
    tiers = list(Tier.objects.filter(programme_id=membership.programme_id).order_by("position"))
    if not tiers:
        return None
    value = qualifying_value(membership, today=today)
    target = _tier_for(tiers, value)
    current = membership.tier.position if membership.tier_id else 0
    if target is not None and target.position > current:
        return _tier_change(membership, target, reason=TierChange.Reason.UPGRADE, value=value, today=today, now=now)
    if membership.tier_grace_until and membership.tier_id and value >= membership.tier.threshold:
        Membership.objects.filter(pk=membership.pk).update(tier_grace_until=None)
        membership.tier_grace_until = None
    return None


def _review_date(tier: Tier | None, tiers_first_position: int, today: dt.date) -> dt.date | None:
    if tier is None or tier.position <= tiers_first_position:
        return None
    return add_months(today, 12)


def _tier_change(
    membership: Membership,
    target: Tier | None,
    *,
    reason: str,
    value: Decimal | None,
    today: dt.date,
    now: dt.datetime | None = None,
) -> TierChange:
    now = now or timezone.now()
    first = Tier.objects.filter(programme_id=membership.programme_id).aggregate(p=Min("position"))["p"] or 0
    change = TierChange.objects.create(
        membership=membership, from_tier=membership.tier, to_tier=target, reason=reason, qualifying=value, at=now
    )
    review = _review_date(target, first, today)
    Membership.objects.filter(pk=membership.pk).update(
        tier=target, tier_since=now, tier_review_on=review, tier_grace_until=None
    )
    membership.tier, membership.tier_since, membership.tier_review_on, membership.tier_grace_until = (
        target,
        now,
        review,
        None,
    )
    if reason == TierChange.Reason.UPGRADE and target is not None:
        _greeting_schedule(
            membership,
            kind=Greeting.Kind.TIER_UPGRADE,
            occasion=f"tier:{change.pk}",
            detail=target.name,
            bonus=0,
            due_on=today,
        )
    transaction.on_commit(lambda: events.tier_changed.send_robust(sender=TierChange, change=change))
    return change


def tiers_review(*, today: dt.date | None = None, chunk: int = 2000, now: dt.datetime | None = None) -> dict[str, int]:
    """The nightly review of memberships whose yearly review is due (or whose grace period runs):

    - still qualifying (or better): the tier is kept (or raised) and the next review is a year away;
    - below their tier, first time: a grace period starts (``tier_grace_until``), the review stays due;
    - below their tier when the grace period is over: down to the tier they qualify for.

    Chunks of ``chunk`` memberships, each in its own transaction with one aggregate over the ledger and a
    few set-based UPDATEs; memberships locked by a running redemption are left for the next run. ``now``:
    when the changes are dated (default now; the demo seeder runs past nights).
    """
    today = today or local_today()
    since = twelve_months_before(today)
    tiers_by_programme: dict[int, list[Tier]] = defaultdict(list)
    for tier in Tier.objects.order_by("programme_id", "position"):
        tiers_by_programme[tier.programme_id].append(tier)
    grace = dict(Programme.objects.values_list("id", "tier_grace_days"))
    basis = dict(Programme.objects.values_list("id", "tier_basis"))
    stats: Counter[str] = Counter()
    last = 0
    while True:
        ids = list(
            Membership.objects.filter(tier_review_on__lte=today, pk__gt=last)
            .order_by("pk")
            .values_list("pk", flat=True)[:chunk]
        )
        if not ids:
            return dict(stats)
        last = ids[-1]
        with transaction.atomic():
            _tiers_review_chunk(ids, today, since, tiers_by_programme, grace, basis, stats, now=now)


def _tiers_review_chunk(ids, today, since, tiers_by_programme, grace, basis, stats, *, now=None) -> None:
    rows = list(
        Membership.objects.select_for_update(skip_locked=True)
        .filter(pk__in=ids, tier_review_on__lte=today)
        .order_by("pk")
        .values_list("pk", "programme_id", "tier_id", "tier_grace_until", "customer_id")
    )
    if not rows:
        return
    totals = LedgerEntry.objects.filter(membership_id__in=[r[0] for r in rows]).qualifying_totals(since=since)
    now = now or timezone.now()
    next_review = add_months(today, 12)
    passed: list[int] = []
    grace_starts: dict[dt.date, list[int]] = defaultdict(list)
    moves: dict[tuple[int | None, bool], list[int]] = defaultdict(list)  # (tier, reviewed again) -> ids
    changes: list[TierChange] = []
    customer_of = {row[0]: row[4] for row in rows}
    for pk, programme_id, tier_id, grace_until, _customer_id in rows:
        tiers = tiers_by_programme.get(programme_id, [])
        by_id = {t.pk: t for t in tiers}
        current = by_id.get(tier_id)
        total = totals.get(pk, {})
        field = "amount" if basis.get(programme_id) == Programme.TierBasis.AMOUNT else "points"
        value = Decimal(total.get(field) or 0)
        target = _tier_for(tiers, value)
        current_position = current.position if current else 0
        target_position = target.position if target else 0
        if target_position >= current_position:
            if target_position > current_position:
                moves[(target.pk, target_position > tiers[0].position)].append(pk)
                changes.append(
                    TierChange(
                        membership_id=pk, from_tier=current, to_tier=target, reason="upgrade", qualifying=value, at=now
                    )
                )
                stats["upgraded"] += 1
            else:
                passed.append(pk)
                stats["kept"] += 1
        elif grace_until is None and grace.get(programme_id, 0) > 0:
            grace_starts[today + dt.timedelta(days=grace[programme_id])].append(pk)
            stats["grace_started"] += 1
        elif grace_until is not None and grace_until > today:
            stats["in_grace"] += 1
        else:
            first_position = tiers[0].position if tiers else 0
            target_id = target.pk if target else None
            moves[(target_id, target_position > first_position)].append(pk)
            changes.append(
                TierChange(
                    membership_id=pk, from_tier=current, to_tier=target, reason="downgrade", qualifying=value, at=now
                )
            )
            stats["downgraded"] += 1
    if passed:
        Membership.objects.filter(pk__in=passed).update(tier_review_on=next_review, tier_grace_until=None)
    for until, pks in grace_starts.items():
        Membership.objects.filter(pk__in=pks).update(tier_grace_until=until)
    for (tier_id, reviewed), pks in moves.items():
        Membership.objects.filter(pk__in=pks).update(
            tier_id=tier_id, tier_since=now, tier_review_on=next_review if reviewed else None, tier_grace_until=None
        )
    if changes:
        TierChange.objects.bulk_create(changes, batch_size=1000)
        for change in changes:
            if change.reason == TierChange.Reason.UPGRADE and change.to_tier is not None:
                _greeting_schedule(
                    Membership(pk=change.membership_id, customer_id=customer_of[change.membership_id]),
                    kind=Greeting.Kind.TIER_UPGRADE,
                    occasion=f"tier:{change.pk}",
                    detail=change.to_tier.name,
                    bonus=0,
                    due_on=today,
                )


# --- Greetings ------------------------------------------------------------------------------------


GREETING_COLUMNS = ["customer_id", "membership_id", "kind", "occasion", "due_on", "status", "detail", "bonus_points",
                    "error", "created_at"]  # fmt: skip


def _greetings_insert(greetings: list[Greeting]) -> int:
    """Insert greetings, skipping those already there (one per customer, kind and occasion): multi-row
    ``INSERT … ON CONFLICT DO NOTHING`` statements (PostgreSQL and SQLite alike). Returns how many were new."""
    if not greetings:
        return 0
    table = connection.ops.quote_name(Greeting._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(c) for c in GREETING_COLUMNS)
    row = "(" + ", ".join(["%s"] * len(GREETING_COLUMNS)) + ")"
    now = timezone.now()
    new = 0
    with connection.cursor() as cursor:
        for start in range(0, len(greetings), 500):
            batch = greetings[start : start + 500]
            params = [
                value
                for g in batch
                for value in (
                    g.customer_id,
                    g.membership_id,
                    g.kind,
                    g.occasion,
                    g.due_on,
                    Greeting.Status.SCHEDULED,
                    g.detail,
                    g.bonus_points,
                    "",
                    now,
                )
            ]
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES {', '.join([row] * len(batch))} "  # noqa: S608 - no input
                "ON CONFLICT DO NOTHING",
                params,
            )
            new += cursor.rowcount
    return new


def _greeting_schedule(
    membership: Membership, *, kind: str, occasion: str, detail: str, bonus: int, due_on: dt.date | None = None
) -> None:
    """A greeting caused by an event (tier upgrade, Nth purchase), due that day (default today); the
    dispatcher sends it."""
    Greeting.objects.bulk_create(
        [
            Greeting(
                customer_id=membership.customer_id,
                membership_id=membership.pk,
                kind=kind,
                occasion=occasion,
                detail=detail[:200],
                bonus_points=bonus,
                due_on=due_on or local_today(),
            )
        ],
        ignore_conflicts=True,
    )


def birthday_memberships(today: dt.date):
    """(customer id, membership id) of today's birthdays among active members, first membership per customer.

    Found through the expression index on the birth date's month and day (migration 0003), never a scan.
    """
    return (
        Membership.objects.filter(
            status=Membership.Status.ACTIVE,
            programme__is_active=True,
            customer__birth_date__month=today.month,
            customer__birth_date__day__in=same_day_days(today),
        )
        .order_by()
        .values("customer_id")
        .annotate(membership_id=Min("pk"))
        .values_list("customer_id", "membership_id")
    )


def milestones_schedule(*, today: dt.date | None = None) -> dict[str, int]:
    """The daily milestone job: today's birthdays and membership anniversaries become greetings (rows),
    once each however often it runs; ``greetings_dispatch`` then sends them."""
    today = today or local_today()
    birthdays = [
        Greeting(
            customer_id=customer_id,
            membership_id=membership_id,
            kind=Greeting.Kind.BIRTHDAY,
            occasion=str(today.year),
            due_on=today,
        )
        for customer_id, membership_id in birthday_memberships(today)
    ]
    anniversaries = [
        Greeting(
            customer_id=customer_id,
            membership_id=membership_id,
            kind=Greeting.Kind.ANNIVERSARY,
            occasion=f"{programme_id}:{today.year}",
            detail=str(today.year - joined_on.year),
            due_on=today,
        )
        for customer_id, membership_id, programme_id, joined_on in Membership.objects.filter(
            status=Membership.Status.ACTIVE,
            programme__is_active=True,
            joined_on__month=today.month,
            joined_on__day__in=same_day_days(today),
            joined_on__lt=today.replace(month=1, day=1),
        )
        .order_by()
        .values_list("customer_id", "pk", "programme_id", "joined_on")
    ]
    return {
        "birthdays": _greetings_insert(birthdays),
        "anniversaries": _greetings_insert(anniversaries),
    }


GREETING_BONUS_FIELD = {
    Greeting.Kind.BIRTHDAY: "birthday_bonus",
    Greeting.Kind.ANNIVERSARY: "anniversary_bonus",
    Greeting.Kind.PURCHASE: "purchase_milestone_bonus",
}
# Greetings are marketing (consent needed); the expiry reminder is about the member's own account.
GREETING_PURPOSE = {Greeting.Kind.POINTS_EXPIRING: "transactional"}
GREETING_TEMPLATES = {
    Greeting.Kind.BIRTHDAY: "loyalty-birthday",
    Greeting.Kind.ANNIVERSARY: "loyalty-anniversary",
    Greeting.Kind.TIER_UPGRADE: "loyalty-tier-upgrade",
    Greeting.Kind.PURCHASE: "loyalty-purchase-milestone",
    Greeting.Kind.POINTS_EXPIRING: "loyalty-points-expiring",
}


def greetings_dispatch(*, today: dt.date | None = None, limit: int = 200) -> int:
    """Send up to ``limit`` due greetings, each in its own short transaction: it claims its row
    (``select_for_update(skip_locked=True)`` on a row still ``scheduled``, so two workers never take the same
    one), credits its bonus through the ledger (keyed by the occasion) and hands its message to the outbox
    (keyed by the greeting). Returns how many were processed; the task calls it until none are."""
    today = today or local_today()
    candidates = list(Greeting.objects.due(today).order_by("due_on", "id").values_list("pk", flat=True)[:limit])
    processed = 0
    for pk in candidates:
        try:
            with transaction.atomic():
                greeting = (
                    Greeting.objects.select_for_update(skip_locked=True, of=("self",))
                    .select_related("customer", "membership__programme", "membership__tier")
                    .filter(pk=pk, status=Greeting.Status.SCHEDULED)
                    .first()
                )
                if greeting is None:  # taken by another worker, or done meanwhile
                    continue
                _greeting_process(greeting, today=today)
        except Exception as exc:
            logger.exception("loyalty greeting %s failed", pk)
            Greeting.objects.filter(pk=pk, status=Greeting.Status.SCHEDULED).update(
                status=Greeting.Status.FAILED, error=f"{type(exc).__name__}: {exc}"[:300], processed_at=timezone.now()
            )
        processed += 1
    return processed


def _greeting_process(greeting: Greeting, *, today: dt.date) -> None:
    bonus = _greeting_bonus(greeting)
    context = _greeting_context(greeting, bonus=bonus)
    status, message_id, error = Greeting.Status.SENT, None, ""
    if context is None:
        status, error = Greeting.Status.NOT_SENT, "nothing left to remind of"
    else:
        status, message_id, error = greeting_message_enqueue(
            greeting=greeting,
            purpose=GREETING_PURPOSE.get(greeting.kind, "marketing"),
            template_slug=GREETING_TEMPLATES[greeting.kind],
            context=context,
            send_after=max(greeting_send_after(greeting.due_on), timezone.now()),
        )
    Greeting.objects.filter(pk=greeting.pk).update(
        status=status, message_id=message_id, bonus_points=bonus, error=error[:300], processed_at=timezone.now()
    )


def _greeting_bonus(greeting: Greeting) -> int:
    """Credit the greeting's bonus: for a birthday in each active membership whose programme gives one, else
    in the greeting's membership. The key holds the occasion, so a second run credits nothing."""
    field = GREETING_BONUS_FIELD.get(greeting.kind)
    if field is None:
        return 0
    if greeting.kind == Greeting.Kind.BIRTHDAY:
        membership_ids = list(
            Membership.objects.active()
            .filter(customer_id=greeting.customer_id, programme__is_active=True, **{f"programme__{field}__gt": 0})
            .order_by("pk")
            .values_list("pk", flat=True)
        )
    else:
        membership_ids = [greeting.membership_id]
    labels = {
        Greeting.Kind.BIRTHDAY: _("Birthday bonus %(occasion)s"),
        Greeting.Kind.ANNIVERSARY: _("Membership anniversary bonus"),
        Greeting.Kind.PURCHASE: _("Bonus for purchase number %(detail)s"),
    }
    total = 0
    for membership_id in membership_ids:
        membership = _lock(membership_id)
        points = getattr(membership.programme, field)
        if not points or not membership.is_active or not membership.programme.is_active:
            continue
        key = f"greeting:{greeting.kind}:{greeting.occasion}:c{greeting.customer_id}:m{membership_id}"
        entry = _existing(key)
        if entry is None:
            entry = _credit(
                membership,
                kind=Kind.BONUS,
                points=points,
                reason=labels[greeting.kind] % {"occasion": greeting.occasion, "detail": greeting.detail},
                key=key,
                source=Source.JOB,
                source_ref=f"greeting:{greeting.pk}",
            )
        total += entry.points
    return total


def _greeting_context(greeting: Greeting, *, bonus: int) -> dict[str, Any] | None:
    membership = greeting.membership
    context: dict[str, Any] = {
        "programme": membership.programme.name,
        "member_number": membership.member_number,
        "tier": membership.tier.name if membership.tier_id else "",
        "bonus_points": bonus,
        "shop_name": settings.TSUNAGU_SHOP_NAME,
    }
    if greeting.kind == Greeting.Kind.POINTS_EXPIRING:
        expires_on = dt.date.fromisoformat(greeting.detail)
        points = LedgerEntry.objects.filter(
            membership_id=membership.pk, remaining__gt=0, expires_on=expires_on
        ).aggregate(n=Coalesce(Sum("remaining"), 0))["n"]
        if not points:
            return None
        context.update(expiring_points=points, expires_on=expires_on.isoformat())
    elif greeting.kind == Greeting.Kind.PURCHASE:
        context["purchase_number"] = greeting.detail
    elif greeting.kind == Greeting.Kind.ANNIVERSARY:
        context["years"] = greeting.detail
    elif greeting.kind == Greeting.Kind.TIER_UPGRADE:
        context["new_tier"] = greeting.detail
    return context


def greeting_message_enqueue(
    *, greeting: Greeting, purpose: str, template_slug: str, context: dict[str, Any], send_after: dt.datetime
) -> tuple[str, int | None, str]:
    """Hand a greeting to the outreach outbox (touchpoints.outreach.outbox), which checks consent and sends it once
    per key. Returns (greeting status, outbox message id, error)."""
    from touchpoints.outreach import outbox

    message = outbox.message_enqueue(
        customer=greeting.customer,
        key=f"loyalty:greeting:{greeting.pk}",
        purpose=purpose,
        template_slug=template_slug,
        context=context,
        send_after=send_after,
        source_app="loyalty",
        source_ref=f"greeting:{greeting.pk}",
    )
    if message.status == message.Status.SKIPPED:
        return Greeting.Status.NOT_SENT, message.pk, message.skip_reason
    return Greeting.Status.SENT, message.pk, ""


# --- Placeholders for message templates -----------------------------------------------------------


def placeholder_points_balance(customer: Customer) -> str:
    total = Membership.objects.active().filter(customer=customer).aggregate(n=Coalesce(Sum("balance"), 0))["n"]
    return f"{total:,}"


def placeholder_tier(customer: Customer) -> str:
    names = (
        Membership.objects.active()
        .filter(customer=customer, tier__isnull=False)
        .order_by("pk")
        .values_list("tier__name", flat=True)
    )
    return ", ".join(names)


def placeholders_points_balance(customer_ids: list[int]) -> dict[int, str]:
    """``{points_balance}`` of many customers in one query (a broadcast's chunk); non-members are left out."""
    rows = (
        Membership.objects.active()
        .filter(customer_id__in=customer_ids)
        .order_by()
        .values("customer_id")
        .annotate(n=Coalesce(Sum("balance"), 0))
        .values_list("customer_id", "n")
    )
    return {customer_id: f"{total:,}" for customer_id, total in rows}


def placeholders_tier(customer_ids: list[int]) -> dict[int, str]:
    """``{tier}`` of many customers in one query; customers without a tier are left out."""
    names: dict[int, list[str]] = {}
    rows = (
        Membership.objects.active()
        .filter(customer_id__in=customer_ids, tier__isnull=False)
        .order_by("pk")
        .values_list("customer_id", "tier__name")
    )
    for customer_id, name in rows:
        names.setdefault(customer_id, []).append(name)
    return {customer_id: ", ".join(tiers) for customer_id, tiers in names.items()}


# --- Customer merges and erasure ------------------------------------------------------------------

MERGING_SETTING = "loyalty.merging"
ERASING_SETTING = "loyalty.erasing"


def _set_local(name: str, value: str) -> None:
    """A transaction-local PostgreSQL setting read by the ledger's append-only trigger (no-op elsewhere)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config(%s, %s, true)", [name, value])


def ledger_erasure_allow(allowed: bool) -> None:
    """Let the deletion of a customer (and so of their memberships) take their ledger with them."""
    _set_local(ERASING_SETTING, "on" if allowed else "")


STATUS_RANK = {Membership.Status.ACTIVE: 2, Membership.Status.PAUSED: 1, Membership.Status.CLOSED: 0}


def memberships_merge(*, primary: Customer, duplicate: Customer) -> None:
    """Before a customer merge moves the rows (``customer_merging``): where both customers belong to the same
    programme, fold the duplicate's membership into the primary's — its entries, lots, redemptions, greetings
    and referrals move, balances add up, the higher tier is kept — and delete the emptied membership."""
    rows = list(
        Membership.objects.select_for_update(of=("self",))
        .filter(customer_id__in=[primary.pk, duplicate.pk])
        .select_related("tier")
        .order_by("pk")
    )
    by_programme: dict[int, dict[int, Membership]] = defaultdict(dict)
    for m in rows:
        by_programme[m.programme_id][m.customer_id] = m
    for pair in by_programme.values():
        keep, drop = pair.get(primary.pk), pair.get(duplicate.pk)
        if keep is None or drop is None:
            continue
        _membership_fold(keep, drop)
    # Greetings of the same kind and occasion on both sides: keep the primary's.
    kept = set(Greeting.objects.filter(customer=primary).values_list("kind", "occasion"))
    clashing = [
        pk
        for pk, kind, occasion in Greeting.objects.filter(customer=duplicate).values_list("pk", "kind", "occasion")
        if (kind, occasion) in kept
    ]
    Greeting.objects.filter(pk__in=clashing).delete()
    accounts = {a.customer_id: a for a in LoyaltyAccount.objects.filter(customer_id__in=[primary.pk, duplicate.pk])}
    if primary.pk in accounts and duplicate.pk in accounts:
        first = min(accounts[primary.pk].created_at, accounts[duplicate.pk].created_at)
        accounts[duplicate.pk].delete()
        count = Membership.objects.filter(customer_id__in=[primary.pk, duplicate.pk]).count()
        LoyaltyAccount.objects.filter(pk=accounts[primary.pk].pk).update(memberships=count, created_at=first)


def _membership_fold(keep: Membership, drop: Membership) -> None:
    _set_local(MERGING_SETTING, "on")
    LedgerEntry._base_manager.filter(membership=drop).update(membership=keep)
    _set_local(MERGING_SETTING, "")
    Redemption.objects.filter(membership=drop).update(membership=keep)
    TierChange.objects.filter(membership=drop).update(membership=keep)
    Greeting.objects.filter(membership=drop).update(membership=keep)
    Membership.objects.filter(referred_by=drop).exclude(pk=keep.pk).update(referred_by=keep)
    fields: dict[str, Any] = {
        "balance": F("balance") + drop.balance,
        "lifetime_points": F("lifetime_points") + drop.lifetime_points,
        "purchase_count": F("purchase_count") + drop.purchase_count,
        "joined_at": min(keep.joined_at, drop.joined_at),
        "joined_on": min(keep.joined_on, drop.joined_on),
    }
    if STATUS_RANK[drop.status] > STATUS_RANK[keep.status]:
        fields.update(status=drop.status, closed_at=drop.closed_at)
    if keep.referred_by_id is None and drop.referred_by_id not in (None, keep.pk):
        fields.update(referred_by_id=drop.referred_by_id, referral_rewarded_at=drop.referral_rewarded_at)
    drop_position = drop.tier.position if drop.tier_id else 0
    keep_position = keep.tier.position if keep.tier_id else 0
    if drop_position > keep_position:
        fields.update(
            tier_id=drop.tier_id,
            tier_since=drop.tier_since,
            tier_review_on=drop.tier_review_on,
            tier_grace_until=drop.tier_grace_until,
        )
        TierChange.objects.create(
            membership=keep, from_tier_id=keep.tier_id, to_tier_id=drop.tier_id, reason=TierChange.Reason.MERGE
        )
    Membership.objects.filter(pk=keep.pk).update(**fields)
    Membership.objects.filter(pk=drop.pk).update(referred_by=None)
    drop.delete()
    logger.info("loyalty membership %s folded into %s on a customer merge", drop.pk, keep.pk)


# --- Audit ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditProblem:
    membership_id: int
    member_number: str
    balance: int
    ledger_balance: int
    lifetime_points: int
    ledger_lifetime: int
    lots_remaining: int

    def describe(self) -> str:
        parts = []
        if self.balance != self.ledger_balance:
            parts.append(f"balance {self.balance} but the ledger sums to {self.ledger_balance}")
        if self.lifetime_points != self.ledger_lifetime:
            parts.append(f"lifetime points {self.lifetime_points} but the ledger sums to {self.ledger_lifetime}")
        if self.lots_remaining != self.ledger_balance:
            parts.append(f"its lots hold {self.lots_remaining} unspent points, not {self.ledger_balance}")
        return f"membership {self.membership_id} ({self.member_number}): " + "; ".join(parts)


def ledger_audit(*, membership_ids: Iterable[int] | None = None) -> list[AuditProblem]:
    """Every membership whose balance or lifetime points differ from its ledger, or whose lots do not add up
    to its balance. One grouped query (GROUP BY membership over the ledger)."""
    lifetime_q = ~Q(entries__kind__in=[Kind.REDEEM, Kind.EXPIRE]) & Q(entries__redemption__isnull=True)
    qs = Membership.objects.all()
    if membership_ids is not None:
        qs = qs.filter(pk__in=list(membership_ids))
    rows = (
        qs.order_by()
        .values("pk", "member_number", "balance", "lifetime_points")
        .annotate(
            ledger_balance=Coalesce(Sum("entries__points"), 0),
            ledger_lifetime=Coalesce(Sum("entries__points", filter=lifetime_q), 0),
            lots_remaining=Coalesce(Sum("entries__remaining", filter=Q(entries__remaining__gt=0)), 0),
        )
        .filter(
            ~Q(balance=F("ledger_balance"))
            | ~Q(lifetime_points=F("ledger_lifetime"))
            | ~Q(ledger_balance=F("lots_remaining"))
        )
        .order_by("pk")
    )
    return [
        AuditProblem(
            membership_id=row["pk"],
            member_number=row["member_number"],
            balance=row["balance"],
            ledger_balance=row["ledger_balance"],
            lifetime_points=row["lifetime_points"],
            ledger_lifetime=row["ledger_lifetime"],
            lots_remaining=row["lots_remaining"],
        )
        for row in rows
    ]


# --- Figures --------------------------------------------------------------------------------------

FIGURES_CACHE_KEY = "loyalty:figures"


def loyalty_figures(*, fresh: bool = False) -> list[dict[str, Any]]:
    """Per programme: members, active share, points issued, redeemed (net of cancellations), expired and
    outstanding. Two grouped queries over the whole tables, so the result is cached for five minutes."""
    figures = None if fresh else cache.get(FIGURES_CACHE_KEY)
    if figures is not None:
        return figures
    members = {
        row["programme_id"]: row
        for row in Membership.objects.order_by()
        .values("programme_id")
        .annotate(
            members=Count("pk"),
            active=Count("pk", filter=Q(status=Membership.Status.ACTIVE)),
            outstanding=Coalesce(Sum("balance"), 0),
            issued=Coalesce(Sum("lifetime_points"), 0),
        )
    }
    spent = defaultdict(int)
    for row in (
        LedgerEntry.objects.filter(Q(kind__in=[Kind.REDEEM, Kind.EXPIRE]) | Q(redemption__isnull=False))
        .order_by()
        .values("membership__programme_id", "kind")
        .annotate(points=Sum("points"))
    ):
        bucket = "expired" if row["kind"] == Kind.EXPIRE else "redeemed"
        spent[(row["membership__programme_id"], bucket)] += -row["points"]
    figures = []
    for programme_id, name in Programme.objects.order_by("name").values_list("id", "name"):
        row = members.get(programme_id, {})
        count = row.get("members", 0)
        figures.append(
            {
                "programme_id": programme_id,
                "programme": name,
                "members": count,
                "active": row.get("active", 0),
                "active_share": (row.get("active", 0) / count) if count else 0,
                "issued": row.get("issued", 0),
                "redeemed": spent[(programme_id, "redeemed")],
                "expired": spent[(programme_id, "expired")],
                "outstanding": row.get("outstanding", 0),
            }
        )
    cache.set(FIGURES_CACHE_KEY, figures, 300)
    return figures
