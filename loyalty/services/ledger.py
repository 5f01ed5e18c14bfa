"""The ledger's core. Every change of points is one entry with a unique key (a retry gets the first entry
back), written with the membership row locked, the balance moving in the same transaction. Points are spent
from the lots that expire first and each lot keeps what is left of it, so expiry only takes unspent points."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from ..models import LedgerEntry, Membership, Programme
from ..wallet.changes import wallet_pass_changed
from .dates import add_months, local_today

logger = logging.getLogger(__name__)


Kind = LedgerEntry.Kind
Source = LedgerEntry.Source

KEY_MAX = 200
POINTS_MAX = 100_000_000  # one adjustment, one lot: far above anything real, far below the column's limit


class InsufficientPoints(ValidationError):
    """The balance is short (the API answers 409)."""


def _expiry_date(programme: Programme, today: dt.date) -> dt.date | None:
    if not programme.points_lifetime_months:
        return None
    return add_months(today, programme.points_lifetime_months)


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
    wallet_pass_changed(membership.pk)  # a wallet pass shows the balance: its devices are told after commit


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
