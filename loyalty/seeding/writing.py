"""The replayed history written in bulk: ids reserved, rows COPYed (``bulk_create`` on SQLite)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.progress import Progress
from customers.seeding.tables import TableWriter
from touchpoints.models import Touchpoint, TouchpointType
from touchpoints.services.record import BATCH_MAX, TouchpointData, touchpoint_record_batch

from .. import reasons
from ..member.rewards_cache import card_rewards_forget
from ..models import Greeting, LedgerEntry, LoyaltyAccount, Membership, Redemption, Reward, TierChange
from ..services.redemption import REDEMPTION_CHANNELS, REDEMPTION_TOUCHPOINT_TYPE
from .replay import Issued, Replay

Kind = LedgerEntry.Kind


def history_write(state: Replay, *, now: dt.datetime, write: Callable[[str], object] | None = None) -> None:
    """Write the replayed history: ids reserved in each table, rows COPYed, the redemptions' touchpoints recorded
    through the journey service, reward stock and the greetings of past upgrades settled (see ``greeting_rows``)."""
    if not state.members:
        return
    writer = TableWriter(batch_size=2000)
    member_base = writer.reserve_ids(Membership, len(state.members)) - 1
    change_base = writer.reserve_ids(TierChange, len(state.changes)) - 1 if state.changes else 0
    redemption_base = writer.reserve_ids(Redemption, len(state.issued)) - 1 if state.issued else 0
    entry_base = writer.reserve_ids(LedgerEntry, len(state.entries)) - 1
    created = timezone.now()
    members = list(state.members.values())
    writer.write_tuples(
        Membership,
        ["id", "customer_id", "programme_id", "member_number", "referral_code", "referred_by_id",
         "referral_rewarded_at", "tier_id", "tier_since", "tier_review_on", "tier_grace_until", "status", "joined_at",
         "joined_on", "balance", "lifetime_points", "purchase_count", "created_at", "updated_at"],
        [
            (m.id + member_base, m.customer_id, state.programme.pk, m.member_number, m.referral_code,
             m.referred_by.id + member_base if m.referred_by else None, m.referral_rewarded_at,
             m.tier.pk if m.tier else None, m.tier_since, m.tier_review_on, m.tier_grace_until,
             Membership.Status.ACTIVE, m.joined_at, timezone.localdate(m.joined_at), m.balance, m.lifetime,
             m.purchase_count, created, created)
            for m in members
        ],
    )  # fmt: skip
    # One account per customer; a customer already in another programme gets one more membership.
    accounts = dict(LoyaltyAccount.objects.filter(customer_id__in=list(state.members)).values_list("customer_id", "pk"))
    writer.write_tuples(
        LoyaltyAccount,
        ["customer_id", "memberships", "created_at"],
        [(m.customer_id, 1, m.joined_at) for m in members if m.customer_id not in accounts],
    )
    if accounts:
        LoyaltyAccount.objects.filter(pk__in=list(accounts.values())).update(memberships=F("memberships") + 1)
    writer.write_tuples(
        TierChange,
        ["id", "membership_id", "from_tier_id", "to_tier_id", "reason", "qualifying", "at"],
        [
            (c.id + change_base, c.membership.id + member_base, c.from_tier.pk if c.from_tier else None,
             c.to_tier.pk if c.to_tier else None, c.reason, c.qualifying, c.at)
            for c in state.changes
        ],
    )  # fmt: skip
    writer.write_tuples(
        Redemption,
        ["id", "membership_id", "reward_id", "points", "voucher_code", "status", "idempotency_key", "source", "by_id",
         "created_at", "cancelled_at", "cancel_reason"],
        [
            (r.id + redemption_base, r.membership.id + member_base, r.reward.pk, r.reward.points_cost, r.voucher_code,
             Redemption.Status.CANCELLED if r.cancelled_at else Redemption.Status.ISSUED, r.key, r.source,
             getattr(r.by, "pk", None), r.created_at, r.cancelled_at, r.cancel_reason)
            for r in state.issued
        ],
    )  # fmt: skip
    _entries_write(writer, state, member_base=member_base, redemption_base=redemption_base, entry_base=entry_base)
    for reward in {r.reward.pk: r.reward for r in state.issued}.values():
        if reward.stock is not None:
            taken = sum(1 for r in state.issued if r.reward.pk == reward.pk and r.cancelled_at is None)
            Reward.objects.filter(pk=reward.pk).update(stock=Reward.objects.get(pk=reward.pk).stock - taken)
    card_rewards_forget(state.programme.pk)
    writer.write_tuples(Greeting, GREETING_COLUMNS, greeting_rows(state, change_base, member_base, now=now))
    _redemption_touchpoints(state, redemption_base, write=write)


GREETING_COLUMNS = ["customer_id", "membership_id", "kind", "occasion", "due_on", "status", "detail",
                    "bonus_points", "error", "created_at", "processed_at"]  # fmt: skip


def greeting_rows(state: Replay, change_base: int, member_base: int, *, now: dt.datetime) -> list[tuple]:
    """The upgrades' greetings. Those due before today are history: marked "not sent" on their day (the dispatcher
    must not mail them all when the demo starts); today's stay scheduled, as the nightly job leaves them."""
    tz = timezone.get_default_timezone()
    today = timezone.localdate(now)
    created = timezone.now()
    rows = []
    for c in state.changes:
        if c.greeting_on is None:
            continue
        common = (c.membership.customer_id, c.membership.id + member_base, Greeting.Kind.TIER_UPGRADE,
                  f"tier:{c.id + change_base}", c.greeting_on)  # fmt: skip
        if c.greeting_on < today:
            at = min(timezone.make_aware(dt.datetime.combine(c.greeting_on, dt.time(10)), tz), now)
            rows.append((*common, Greeting.Status.NOT_SENT, c.to_tier.name[:200], 0, "demo data: history, not sent",
                         at, at))  # fmt: skip
        else:
            rows.append((*common, Greeting.Status.SCHEDULED, c.to_tier.name[:200], 0, "", created, None))
    return rows


def _entries_write(writer: TableWriter, state: Replay, *, member_base: int, redemption_base: int, entry_base: int):
    stored: dict[tuple[str, str], str] = {}  # the stored reason text, by key and parameters

    def reason(key: str, params: dict) -> str:
        text_key = (key, json.dumps(params, sort_keys=True))
        if text_key not in stored:
            stored[text_key] = reasons.reason(key, **params)["reason"]
        return stored[text_key]

    columns = ["id", "membership_id", "kind", "points", "reason", "reason_key", "reason_params", "source",
               "source_ref", "touchpoint_id", "order_reference", "amount", "redemption_id", "by_id", "key",
               "expires_on", "remaining", "allocations", "created_at"]  # fmt: skip
    rows = []
    for e in state.entries:
        member_id = e.membership.id + member_base
        allocations = {str(lot + entry_base): points for lot, points in e.allocations.items()}
        key, source_ref, redemption_id = e.key, e.source_ref, None
        if e.redemption is not None:
            redemption_id = e.redemption.id + redemption_base
            source_ref = f"redemption:{redemption_id}"
            key = f"redeem:{redemption_id}" if e.kind == Kind.REDEEM else f"cancel:{redemption_id}"
        elif e.kind == Kind.EXPIRE:  # expiry._membership_expire's key, over the written ids
            lots = [(lot + entry_base, points) for lot, points in e.expired_lots]
            digest = hashlib.sha256(repr(lots).encode()).hexdigest()[:16]
            key = f"expire:m{member_id}:{e.key}:{digest}"
        else:
            key = _rebase_key(key, member_base)
            if e.kind == Kind.REFERRAL:
                prefix, number = source_ref.split(":")
                source_ref = f"{prefix}:{int(number) + member_base}"
        rows.append(
            (e.id + entry_base, member_id, e.kind, e.points, reason(e.reason_key, e.params), e.reason_key,
             json.dumps(e.params), e.source, source_ref, e.touchpoint_id, e.order_reference, e.amount, redemption_id,
             e.by_id, key, e.expires_on, e.remaining, json.dumps(allocations), e.created_at)
        )  # fmt: skip
        if len(rows) >= 50_000:
            writer.write_tuples(LedgerEntry, columns, rows)
            rows = []
    writer.write_tuples(LedgerEntry, columns, rows)


def _rebase_key(key: str, member_base: int) -> str:
    """``earn:tp1:m2``, ``reverse:tp1:m2``, ``referral:m2:referee``: the member's local id moved to its written id."""
    parts = key.split(":")
    for i, part in enumerate(parts):
        if part.startswith("m") and part[1:].isdigit():
            parts[i] = f"m{int(part[1:]) + member_base}"
    return ":".join(parts)


def _redemption_touchpoints(state: Replay, redemption_base: int, *, write=None) -> None:
    """Each redemption's "loyalty programme activity" touchpoint, as ``points_redeem`` records it, through
    ``touchpoint_record_batch`` (journeys advanced, last activity moved), in batches by who redeemed. A batch
    holds one touchpoint per customer, each customer's in time order across the rounds, so that a journey moves
    at the redemption that moved it in real use."""
    touchpoint_type = TouchpointType.objects.filter(slug=REDEMPTION_TOUCHPOINT_TYPE, is_active=True).first()
    if touchpoint_type is None or not state.issued:
        return
    by_customer: dict[int, list[Issued]] = defaultdict(list)
    for r in sorted(state.issued, key=lambda r: (r.created_at, r.id)):
        by_customer[r.membership.customer_id].append(r)
    rounds: list[dict[tuple[Any, str], list[TouchpointData]]] = []
    for issued in by_customer.values():
        for index, r in enumerate(issued):
            if index == len(rounds):
                rounds.append(defaultdict(list))
            if r.source == Redemption.Source.API:
                source = Touchpoint.Source.API
            else:
                source = Touchpoint.Source.STAFF if r.by is not None else Touchpoint.Source.SYSTEM
            pk = r.id + redemption_base
            rounds[index][(r.by, source)].append(
                TouchpointData(
                    customer_id=r.membership.customer_id,
                    touchpoint_type=touchpoint_type,
                    channel=REDEMPTION_CHANNELS.get(r.source, "other"),
                    direction="inbound",
                    occurred_at=r.created_at,
                    summary=_("Redeemed %(reward)s (%(points)s points)")
                    % {"reward": r.reward.name, "points": f"{r.reward.points_cost:,}"},
                    metadata={"redemption": pk, "reward": r.reward.pk, "points": r.reward.points_cost},
                    idempotency_key=f"loyalty:redemption:{pk}",
                )
            )
    progress = Progress(write, total=len(state.issued), label="Redemption touchpoints", unit="touchpoints")
    for batches in rounds:
        for (by, source), items in batches.items():
            for start in range(0, len(items), BATCH_MAX):
                batch = items[start : start + BATCH_MAX]
                touchpoint_record_batch(items=batch, by=by, source=source)
                progress.step(len(batch))
