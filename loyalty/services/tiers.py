"""Tier qualification: upgrades as soon as a threshold is crossed, downgrades at the yearly review."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from decimal import Decimal

from django.db import transaction
from django.db.models import Min, Sum
from django.utils import timezone

from customers.signals import send_after_commit

from .. import events
from ..models import Greeting, LedgerEntry, Membership, Programme, Tier, TierChange
from ..querysets import twelve_months_before
from .dates import add_months, local_today
from .greetings import _greeting_schedule


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
    send_after_commit(events.tier_changed, sender=TierChange, change=change)
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
