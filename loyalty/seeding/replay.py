"""The services' rules on members in memory: the demo history replayed without a query per event."""

from __future__ import annotations

import datetime as dt
import heapq
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from customers.progress import Progress
from touchpoints.models import TouchpointType

from .. import demo_data, reasons
from ..models import LedgerEntry, Programme, Redemption, Reward, Tier, TierChange
from ..querysets import twelve_months_before
from ..services.dates import add_months
from ..services.earning import _points_for, return_reversal
from ..services.membership import _member_number, _referral_code
from ..services.redemption import LEDGER_SOURCES, _voucher_code
from .plan import Event, Purchase, Totals, _reward_choice, demo_staff, history_plan, rng

Kind, Source = LedgerEntry.Kind, LedgerEntry.Source


class Entry:
    """A ledger entry to write. ``lot``: it adds points (``remaining`` moves); ids are local until written."""

    __slots__ = ("id", "membership", "kind", "points", "remaining", "expires_on", "allocations", "created_at",
                 "reason_key", "params", "source", "source_ref", "touchpoint_id", "order_reference", "amount",
                 "redemption", "by_id", "key", "expired_lots")  # fmt: skip

    def __init__(self, **values: Any) -> None:
        self.remaining = self.expires_on = self.touchpoint_id = self.amount = self.redemption = self.by_id = None
        self.allocations, self.order_reference, self.source_ref, self.expired_lots, self.key = {}, "", "", None, ""
        for name, value in values.items():
            setattr(self, name, value)


class Member:
    __slots__ = ("id", "customer_id", "joined_at", "referred_by", "member_number", "referral_code", "balance",
                 "lifetime", "purchase_count", "tier", "tier_since", "tier_review_on", "tier_grace_until",
                 "referral_rewarded_at", "lots", "qualifying", "orders")  # fmt: skip

    def __init__(self, id: int, customer_id: int, joined_at: dt.datetime, referred_by: Member | None, tier: Tier):
        self.id, self.customer_id, self.joined_at, self.referred_by = id, customer_id, joined_at, referred_by
        self.member_number, self.referral_code = "", ""
        self.balance = self.lifetime = self.purchase_count = 0
        self.tier, self.tier_since, self.tier_review_on, self.tier_grace_until = tier, joined_at, None, None
        self.referral_rewarded_at = None
        self.lots: list[Entry] = []  # in (expires_on, id) order: the order lots are spent and expire in
        self.qualifying: list[Entry] = []  # earn and return entries, for the 12-month tier qualification
        self.orders: dict[str, list[Entry]] = defaultdict(list)  # order reference -> its earn and return entries


@dataclass
class Change:
    id: int
    membership: Member
    from_tier: Tier | None
    to_tier: Tier | None
    reason: str
    qualifying: Decimal | None
    at: dt.datetime
    greeting_on: dt.date | None = None  # an upgrade's greeting, due that day


@dataclass
class Issued:
    id: int
    membership: Member
    reward: Reward
    key: str
    source: str
    by: Any
    created_at: dt.datetime
    voucher_code: str = ""
    spent: Entry | None = None
    cancelled_at: dt.datetime | None = None
    cancel_reason: str = ""


class Replay:
    """The services' rules on members in memory (see the module docstring; each method names its service)."""

    def __init__(self, *, programme: Programme, seed: int, now: dt.datetime) -> None:
        if programme.milestone_numbers:  # the demo's milestone greetings carry no bonus in the history: none here
            raise ValueError("the bulk replay writes no purchase-milestone greetings: use --through-services")
        self.programme, self.seed, self.now = programme, seed, now
        self.tiers = list(Tier.objects.filter(programme=programme).order_by("position"))
        self.entry_tier = next((t for t in reversed(self.tiers) if t.threshold <= 0), None)
        self.first_position = self.tiers[0].position if self.tiers else 0
        self.members: dict[int, Member] = {}  # customer id -> member
        self.entries: list[Entry] = []
        self.changes: list[Change] = []
        self.issued: list[Issued] = []
        self.expiring: list[tuple[dt.date, int, int, int, Entry]] = []  # (expires on, member id, lot id, seq, lot)
        self.pushes = iter(range(1, 10**12))
        self.reviewed: dict[int, Member] = {}  # member id -> member with a tier review date
        self.codes: set[str] = set()
        self.numbers: set[str] = set()

    # membership_join
    def join(self, customer_id: int, at: dt.datetime, referrer: Member | None) -> Member:
        member = Member(len(self.members) + 1, customer_id, at, referrer, self.entry_tier)
        member.member_number = self._draw(_member_number, self.numbers)
        member.referral_code = self._draw(_referral_code, self.codes)
        self.members[customer_id] = member
        if self.entry_tier is not None:
            self._change(member, self.entry_tier, reason=TierChange.Reason.JOIN, value=None, at=at)
        else:
            member.tier_since = None
        return member

    @staticmethod
    def _draw(draw: Callable[[], str], taken: set[str]) -> str:
        while (value := draw()) in taken:
            pass
        taken.add(value)
        return value

    def _entry(self, member: Member, **values: Any) -> Entry:
        entry = Entry(id=len(self.entries) + 1, membership=member, **values)
        self.entries.append(entry)
        member.balance += entry.points
        if entry.kind not in (Kind.REDEEM, Kind.EXPIRE) and entry.redemption is None:  # ledger._lifetime_delta
            member.lifetime += entry.points
        return entry

    # ledger._credit
    def _credit(self, member: Member, *, points: int, today: dt.date, **values: Any) -> Entry:
        months = self.programme.points_lifetime_months
        expires_on = add_months(today, months) if months else None
        entry = self._entry(member, points=points, remaining=points, expires_on=expires_on, **values)
        member.lots.append(entry)
        if len(member.lots) > 1 and _lot_order(member.lots[-2]) > _lot_order(entry):
            member.lots.sort(key=_lot_order)
        if expires_on is not None and points:
            heapq.heappush(self.expiring, (expires_on, member.id, entry.id, next(self.pushes), entry))
        return entry

    # ledger._take_from_lots and _debit
    def _debit(self, member: Member, *, points: int, prefer: list[int] = (), **values: Any) -> Entry:
        lots = [lot for lot in member.lots if lot.remaining > 0]
        if prefer:
            preferred = set(prefer)
            lots.sort(key=lambda lot: lot.id not in preferred)
        taken: dict[int, int] = {}
        left = points
        for lot in lots:
            if left == 0:
                break
            take = min(lot.remaining, left)
            taken[lot.id] = take
            lot.remaining -= take
            left -= take
        assert left == 0, "the replay spent more points than the member had"
        return self._entry(member, points=-points, allocations=taken, **values)

    def _qualifying_value(self, member: Member, today: dt.date) -> Decimal:
        since = twelve_months_before(today)
        field_ = "amount" if self.programme.tier_basis == Programme.TierBasis.AMOUNT else "points"
        return Decimal(sum((getattr(e, field_) or 0) for e in member.qualifying if e.created_at >= since))

    def _tier_for(self, value: Decimal) -> Tier | None:
        reached = None
        for tier in self.tiers:
            if tier.threshold <= value:
                reached = tier
        return reached

    # tiers._tier_change (and the review's moves)
    def _change(self, member: Member, target: Tier | None, *, reason: str, value, at, today=None, review=None):
        from_tier = None if reason == TierChange.Reason.JOIN else member.tier
        change = Change(len(self.changes) + 1, member, from_tier, target, reason, value, at)
        self.changes.append(change)
        if reason == TierChange.Reason.JOIN:
            return change
        member.tier, member.tier_since, member.tier_grace_until = target, at, None
        member.tier_review_on = review
        if review is None:
            self.reviewed.pop(member.id, None)
        else:
            self.reviewed[member.id] = member
        if reason == TierChange.Reason.UPGRADE and target is not None:
            change.greeting_on = today
        return change

    # tiers._tier_evaluate
    def _tier_evaluate(self, member: Member, *, today: dt.date, now: dt.datetime) -> None:
        if not self.tiers:
            return
        value = self._qualifying_value(member, today)
        target = self._tier_for(value)
        current = member.tier.position if member.tier else 0
        if target is not None and target.position > current:
            review = add_months(today, 12) if target.position > self.first_position else None
            self._change(member, target, reason=TierChange.Reason.UPGRADE, value=value, at=now, today=today,
                         review=review)  # fmt: skip
        elif member.tier_grace_until and member.tier and value >= member.tier.threshold:
            member.tier_grace_until = None

    # earning._purchase_earn
    def purchase(self, member: Member, touchpoint: Purchase, at: dt.datetime) -> Entry | None:
        if self.programme.currency != touchpoint.currency:
            return None
        today = min(timezone.localdate(touchpoint.occurred_at), timezone.localdate(at))
        points = _points_for(touchpoint.amount or 0, self.programme, member.tier)
        reference = touchpoint.order_reference
        entry = self._credit(
            member, kind=Kind.EARN, points=points, today=today, reason_key=reasons.PURCHASE, params={"ref": reference},
            source=Source.PURCHASE, source_ref=f"touchpoint:{touchpoint.pk}", touchpoint_id=touchpoint.pk,
            order_reference=reference, amount=touchpoint.amount, key=f"earn:tp{touchpoint.pk}:m{member.id}",
            created_at=at,
        )  # fmt: skip
        member.qualifying.append(entry)
        if reference:
            member.orders[reference].append(entry)
        member.purchase_count += 1
        if member.referred_by is not None and member.referral_rewarded_at is None:
            self._referral_reward(member, now=at)
        self._tier_evaluate(member, today=timezone.localdate(at), now=at)
        return entry

    # earning._referral_reward
    def _referral_reward(self, referee: Member, *, now: dt.datetime) -> None:
        referee.referral_rewarded_at = now
        today = timezone.localdate(now)
        if self.programme.referee_bonus:
            self._credit(
                referee, kind=Kind.REFERRAL, points=self.programme.referee_bonus, today=today,
                reason_key=reasons.REFEREE_BONUS, params={}, source=Source.SYSTEM,
                source_ref=f"membership:{referee.referred_by.id}", key=f"referral:m{referee.id}:referee",
                created_at=now,
            )  # fmt: skip
        if self.programme.referrer_bonus:
            self._credit(
                referee.referred_by, kind=Kind.REFERRAL, points=self.programme.referrer_bonus, today=today,
                reason_key=reasons.REFERRER_BONUS, params={"number": referee.member_number}, source=Source.SYSTEM,
                source_ref=f"membership:{referee.id}", key=f"referral:m{referee.id}:referrer", created_at=now,
            )  # fmt: skip

    # earning._return_reverse
    def return_(self, member: Member, touchpoint: Purchase, at: dt.datetime) -> Entry | None:
        reference = touchpoint.order_reference
        rows = member.orders.get(reference) if reference else None
        if not rows or not any(e.kind == Kind.EARN for e in rows):
            return None
        reversal = return_reversal(
            [(e.id, e.kind, e.points, e.amount) for e in rows], amount=touchpoint.amount, balance=member.balance
        )
        if reversal is None:
            return None
        earn_lots, recoverable, unrecovered, this_amount = reversal
        entry = self._debit(
            member, kind=Kind.REVERSE, points=recoverable, prefer=earn_lots, reason_key=reasons.RETURN,
            params={"ref": reference, "unrecovered": unrecovered}, source=Source.PURCHASE,
            source_ref=f"touchpoint:{touchpoint.pk}", touchpoint_id=touchpoint.pk, order_reference=reference,
            amount=-this_amount, key=f"reverse:tp{touchpoint.pk}:m{member.id}", created_at=at,
        )  # fmt: skip
        member.qualifying.append(entry)
        rows.append(entry)
        return entry

    # redemption.points_redeem
    def redeem(self, member: Member, reward: Reward, *, key: str, by, source: str, at: dt.datetime) -> Issued:
        redemption = Issued(len(self.issued) + 1, member, reward, key, source, by, at)
        redemption.voucher_code = _voucher_code()
        self.issued.append(redemption)
        redemption.spent = self._debit(
            member, kind=Kind.REDEEM, points=reward.points_cost, reason_key=reasons.REDEEMED,
            params={"reward": reward.name}, source=LEDGER_SOURCES.get(source, Source.STAFF), redemption=redemption,
            by_id=getattr(by, "pk", None), created_at=at,
        )  # fmt: skip
        return redemption

    # redemption.redemption_cancel
    def cancel(self, redemption: Issued, *, reason: str, at: dt.datetime) -> None:
        member = redemption.membership
        by_id = {lot.id: lot for lot in member.lots}
        for lot_id, points in redemption.spent.allocations.items():
            lot = by_id[lot_id]
            lot.remaining += points
            heapq.heappush(self.expiring, (lot.expires_on, member.id, lot.id, next(self.pushes), lot))
        self._entry(
            member, kind=Kind.REVERSE, points=redemption.reward.points_cost,
            allocations=dict(redemption.spent.allocations), reason_key=reasons.CANCELLED,
            params={"reward": redemption.reward.name, "note": reason.strip()}, source=Source.STAFF,
            redemption=redemption, created_at=at,
        )  # fmt: skip
        redemption.cancelled_at, redemption.cancel_reason = at, reason.strip()[:300]

    # expiry.points_expire
    def expire(self, *, today: dt.date, at: dt.datetime) -> int:
        due: set[int] = set()
        by_id: dict[int, Member] = {}
        while self.expiring and self.expiring[0][0] < today:
            _expires_on, member_id, _lot_id, _seq, lot = heapq.heappop(self.expiring)
            if lot.remaining > 0:
                due.add(member_id)
                by_id[member_id] = lot.membership
        total = 0
        for member_id in sorted(due):
            member = by_id[member_id]
            lots = [lot for lot in member.lots if lot.remaining > 0 and lot.expires_on < today]
            points = sum(lot.remaining for lot in lots)
            allocations = {lot.id: lot.remaining for lot in lots}
            for lot in lots:
                lot.remaining = 0
            self._entry(
                member, kind=Kind.EXPIRE, points=-points, allocations=allocations, reason_key=reasons.EXPIRED,
                params={"day": lots[-1].expires_on.isoformat()}, source=Source.JOB, source_ref="points_expire",
                key=today.isoformat(), expired_lots=list(allocations.items()), created_at=at,
            )  # fmt: skip
            total += points
        return total

    # tiers.tiers_review
    def review(self, *, today: dt.date, now: dt.datetime) -> None:
        next_review = add_months(today, 12)
        for member_id in sorted(m for m, member in self.reviewed.items() if member.tier_review_on <= today):
            member = self.reviewed[member_id]
            value = self._qualifying_value(member, today)
            target = self._tier_for(value)
            current_position = member.tier.position if member.tier else 0
            target_position = target.position if target else 0
            if target_position > current_position:
                review = next_review if target_position > self.first_position else None
                self._change(member, target, reason="upgrade", value=value, at=now, today=today, review=review)
            elif target_position == current_position:
                member.tier_review_on, member.tier_grace_until = next_review, None
            elif member.tier_grace_until is None and self.programme.tier_grace_days > 0:
                member.tier_grace_until = today + dt.timedelta(days=self.programme.tier_grace_days)
            elif member.tier_grace_until is not None and member.tier_grace_until > today:
                pass
            else:
                review = next_review if target_position > self.first_position else None
                self._change(member, target, reason="downgrade", value=value, at=now, today=today, review=review)


def _lot_order(lot: Entry) -> tuple:
    return (lot.expires_on is None, lot.expires_on or dt.date.min, lot.id)


def replay(
    *, programme: Programme, seed: int, now: dt.datetime, write: Callable[[str], object] | None = None
) -> tuple[Replay, Totals]:
    """Replay the members' history up to ``now`` in memory (the command's service replay, event for event)."""
    totals = Totals()
    queue, _purchases, join_r = history_plan(seed, now)
    redeem_r = rng(seed, "redeem")
    state = Replay(programme=programme, seed=seed, now=now)
    if not queue:
        return state, totals
    seq = iter(range(len(queue) + 1, 10**9))
    staff = demo_staff()
    rewards = list(Reward.objects.filter(programme=programme).select_related("min_tier").order_by("points_cost", "pk"))
    joined: list[Member] = []
    redemption_count = 0
    progress = Progress(write, total=len(queue), label="Loyalty history", unit="events")
    while queue:
        event = heapq.heappop(queue)
        if event.kind != "cancel":  # cancellations are drawn on the way: not in the total
            progress.step()
        if event.kind == "join":
            referrer = None
            if joined and join_r.random() < demo_data.REFERRED_SHARE:
                referrer = join_r.choice(joined)
            joined.append(state.join(event.payload, event.at, referrer))
            totals.members += 1
            totals.referred += referrer is not None
        elif event.kind == "night":
            day = timezone.localdate(event.at)
            totals.expired_points += state.expire(today=day, at=event.at)
            state.review(today=day, now=event.at)
        elif event.kind == "cancel":
            state.cancel(event.payload, reason=_(redeem_r.choice(demo_data.CANCEL_REASONS)), at=event.at)
            totals.cancelled += 1
        elif event.kind == TouchpointType.Kind.RETURN:
            member = state.members[event.payload.customer_id]
            totals.returns += state.return_(member, event.payload, event.at) is not None
        else:  # a purchase: its points, then perhaps a reward at the counter or on the site
            member = state.members[event.payload.customer_id]
            totals.earned += state.purchase(member, event.payload, event.at) is not None
            if redeem_r.random() >= demo_data.REDEEM_CHANCE:
                continue
            at = event.at + dt.timedelta(minutes=redeem_r.randint(2, 30))
            choice = _reward_choice(redeem_r, rewards, member)
            if choice is None or at >= now:
                continue
            redemption_count += 1
            api = redeem_r.random() < demo_data.API_SHARE
            redemption = state.redeem(
                member,
                choice,
                key=f"demo:p{programme.pk}:{seed}:{member.customer_id}:{redemption_count}",
                by=None if api or not staff else redeem_r.choice(staff),
                source=Redemption.Source.API if api else Redemption.Source.STAFF,
                at=at,
            )
            totals.redemptions += 1
            if choice.stock is not None:
                choice.stock -= 1
            cancel_at = at + dt.timedelta(days=1, hours=redeem_r.randint(0, 6))
            if redeem_r.random() < demo_data.CANCEL_SHARE and cancel_at < now:
                heapq.heappush(queue, Event(cancel_at, next(seq), "cancel", redemption))
    # Last night's run (the nightly jobs would have done it before the demo starts).
    today = timezone.localdate(now)
    totals.expired_points += state.expire(today=today, at=now)
    state.review(today=today, now=now)
    return state, totals
