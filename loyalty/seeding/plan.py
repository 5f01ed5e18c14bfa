"""Who joins the demo programme when, and the events of their history in time order (both replays share it)."""

from __future__ import annotations

import datetime as dt
import heapq
import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone

from customers import demo_data as customer_demo_data
from customers.models import Customer
from touchpoints.models import Touchpoint, TouchpointType

from .. import demo_data
from ..models import LedgerEntry, Reward

NIGHT_EVERY = dt.timedelta(days=14)  # the nightly jobs (expiry, tier review), replayed every other week
NIGHT_HOUR = 3
Kind, Source = LedgerEntry.Kind, LedgerEntry.Source


def rng(seed: int, kind: str) -> random.Random:
    return random.Random(f"{seed}:loyalty:{kind}")


@dataclass(order=True)
class Event:
    at: dt.datetime
    seq: int
    kind: str = field(compare=False)
    payload: Any = field(compare=False, default=None)


@dataclass
class Totals:
    members: int = 0
    referred: int = 0
    earned: int = 0
    returns: int = 0
    redemptions: int = 0
    cancelled: int = 0
    expired_points: int = 0
    skipped: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Purchase:
    """A purchase or return touchpoint, as the replay reads it."""

    pk: int
    customer_id: int
    kind: str
    occurred_at: dt.datetime
    amount: Decimal | None
    currency: str
    order_reference: str


def night_times(first: dt.datetime, end: dt.datetime):
    """03:00 local every ``NIGHT_EVERY`` from the day after ``first``, before ``end``."""
    tz = timezone.get_default_timezone()
    day = timezone.localdate(first, timezone=tz) + dt.timedelta(days=1)
    while True:
        at = timezone.make_aware(dt.datetime.combine(day, dt.time(NIGHT_HOUR)), tz)
        if at >= end:
            return
        yield at
        day += NIGHT_EVERY


def history_plan(seed: int, now: dt.datetime) -> tuple[list[Event], dict[int, list[Purchase]], random.Random]:
    """Who joins when, and the purchases and returns they make as members, in a queue of events (the draws of
    both paths, in the same order). Returns the queue, the purchases by customer and the joining draws."""
    members_r, join_r = rng(seed, "members"), rng(seed, "join")
    purchases: dict[int, list[Purchase]] = {}
    kinds = [TouchpointType.Kind.PURCHASE, TouchpointType.Kind.RETURN]
    rows = (
        Touchpoint.objects.filter(type__kind__in=kinds, occurred_at__lt=now)
        .order_by("customer_id", "occurred_at", "pk")
        .values_list("pk", "customer_id", "type__kind", "occurred_at", "amount", "currency", "order_reference")
        .iterator(chunk_size=10_000)
    )
    for row in rows:
        purchases.setdefault(row[1], []).append(Purchase(*row))
    created = dict(Customer.objects.filter(pk__in=list(purchases)).values_list("pk", "created_at"))
    queue: list[Event] = []
    seq = iter(range(1, 10**9))
    for customer_id in sorted(purchases):
        history = purchases[customer_id]
        first_purchase = next((t for t in history if t.kind == TouchpointType.Kind.PURCHASE), None)
        if first_purchase is None or members_r.random() >= demo_data.MEMBER_SHARE:
            continue
        if join_r.random() < demo_data.JOIN_AT_FIRST_PURCHASE:
            joined_at = first_purchase.occurred_at - dt.timedelta(minutes=join_r.randint(1, 10))
        else:
            joined_at = first_purchase.occurred_at - dt.timedelta(
                days=join_r.randint(2, 40), hours=join_r.randint(0, 9)
            )
        joined_at = max(joined_at, created.get(customer_id) or joined_at)
        queue.append(Event(joined_at, next(seq), "join", customer_id))
        for touchpoint in history:
            if touchpoint.occurred_at >= joined_at:
                queue.append(Event(touchpoint.occurred_at, next(seq), touchpoint.kind, touchpoint))
    if queue:
        for at in night_times(min(queue).at, now):
            queue.append(Event(at, next(seq), "night"))
    heapq.heapify(queue)
    return queue, purchases, join_r


def demo_staff() -> list:
    names = [u for u, *_rest, role, _su in customer_demo_data.DEMO_STAFF if role in ("Support", "Manager")]
    return list(get_user_model().objects.filter(username__in=names).order_by("username"))


def _reward_choice(r: random.Random, rewards: list[Reward], member) -> Reward | None:
    """A reward the member can have now, drawn (``member``: a Membership or a replayed Member)."""
    position = member.tier.position if member.tier else 0
    affordable = [
        reward
        for reward in rewards
        if reward.points_cost <= member.balance
        and (reward.stock is None or reward.stock > 0)
        and (reward.min_tier is None or reward.min_tier.position <= position)
    ]
    return r.choice(affordable) if affordable else None
