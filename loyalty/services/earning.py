"""Points earned on purchases and taken back on returns (receivers of ``touchpoint_recorded``)."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_DOWN, Decimal

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from touchpoints.models import TouchpointType

from .. import reasons
from ..models import Greeting, LedgerEntry, Membership, Programme, Tier
from .dates import local_today
from .greetings import _greeting_schedule
from .ledger import Kind, Source, _credit, _debit, _existing, _lock
from .tiers import _tier_evaluate


def _points_for(amount: Decimal, programme: Programme, tier: Tier | None) -> int:
    multiplier = tier.multiplier if tier else Decimal(1)
    return int((Decimal(amount) * programme.earn_rate * multiplier).to_integral_value(rounding=ROUND_DOWN))


def points_earn_for_purchase(*, touchpoint, at: dt.datetime | None = None) -> list[LedgerEntry]:
    """Earn points for a purchase touchpoint in each of the customer's active memberships (receiver of
    ``touchpoints.events.touchpoint_recorded``). Each membership is its own transaction; a replay earns nothing.

    ``at``: when the entries are written (default now). The demo seeder replays past purchases at their time,
    so that the ledger, the tier qualification window and the lots' expiry are as real use would have left them."""
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
    entry = _credit(
        membership,
        kind=Kind.EARN,
        points=points,
        **reasons.reason(reasons.PURCHASE, ref=reference),
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
                **reasons.reason(reasons.REFEREE_BONUS),
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
                **reasons.reason(reasons.REFERRER_BONUS, number=referee.member_number),
                key=key,
                source=Source.SYSTEM,
                source_ref=f"membership:{referee.pk}",
                today=timezone.localdate(now),
                created_at=now,
            )


def points_reverse_for_return(*, touchpoint, at: dt.datetime | None = None) -> list[LedgerEntry]:
    """Take back the points of the purchase a return touchpoint refers to (by order reference), in each
    membership that earned on it; a partial return takes back its share. Never below a zero balance."""
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


def return_reversal(
    rows: list[tuple[int, str, int, Decimal | None]], *, amount, balance: int
) -> tuple[list[int], int, int, Decimal] | None:
    """What a return takes back, from the order's earn and reverse entries as (id, kind, points, amount): the earn
    lots to take from, the points recovered (never beyond the balance), those left unrecovered, and the amount
    returned (the rest of the order when the return names none). None when there is nothing left to reverse.
    Shared by the service and the demo seeder's replay (loyalty/seeding), so the two cannot drift apart."""
    earn_lots = [row[0] for row in rows if row[1] == Kind.EARN]
    earned = sum(row[2] for row in rows if row[1] == Kind.EARN)
    bought = sum((row[3] or Decimal(0) for row in rows if row[1] == Kind.EARN), Decimal(0))
    reversed_points = -sum(row[2] for row in rows if row[1] == Kind.REVERSE)
    returned = -sum((row[3] or Decimal(0) for row in rows if row[1] == Kind.REVERSE), Decimal(0))
    left_to_return = max(bought - returned, Decimal(0))
    if amount is None or bought <= 0:
        this_amount, target = left_to_return, earned
    else:
        this_amount = min(Decimal(amount), left_to_return)
        target = int((earned * (returned + this_amount) / bought).to_integral_value(rounding=ROUND_DOWN))
    to_reverse = max(min(target, earned) - reversed_points, 0)
    if to_reverse == 0 and this_amount == 0:
        return None
    recoverable = min(to_reverse, balance)
    return earn_lots, recoverable, to_reverse - recoverable, this_amount


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
    reversal = return_reversal(rows, amount=touchpoint.amount, balance=membership.balance)
    if reversal is None:
        return None
    earn_lots, recoverable, unrecovered, this_amount = reversal
    return _debit(
        membership,
        kind=Kind.REVERSE,
        points=recoverable,
        **reasons.reason(reasons.RETURN, ref=reference, unrecovered=unrecovered),
        key=key,
        source=Source.PURCHASE,
        source_ref=f"touchpoint:{touchpoint.pk}",
        touchpoint=touchpoint,
        order_reference=reference,
        amount=-this_amount,
        prefer=earn_lots,
        created_at=at or timezone.now(),
    )
