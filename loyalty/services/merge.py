"""Customer merges and erasure: what loyalty does before a customer's rows move or go."""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any

from django.db import connection
from django.db.models import F

from customers.models import Customer

from ..models import Greeting, LedgerEntry, LoyaltyAccount, Membership, Redemption, TierChange

logger = logging.getLogger(__name__)


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
