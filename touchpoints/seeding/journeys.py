"""The demo journeys: each demo customer's touchpoints, stage transitions and journey row.

Each customer gets a journey through the stages (awareness → consideration → decision → retention): its
touchpoints, the stage transitions ``touchpoint_record`` would have made from them, and the customer's
journey row, written straight to the tables (COPY) for speed. ``JourneySeeder`` plugs into the customers
seeder (``customers.seeding.customers.seed_customers``) and moves each customer's ``last_activity_at`` to
their newest touchpoint, as ``touchpoint_record`` leaves it.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from django.db import DEFAULT_DB_ALIAS

from customers.seeding.customers import SeedContext
from customers.seeding.draws import Row, between, cumulative, pick, rng
from customers.seeding.tables import TableWriter
from touchpoints import demo_data
from touchpoints.models import CustomerJourney, StageTransition, Touchpoint, TouchpointType

_DAY = dt.timedelta(days=1)
# The tables JourneySeeder writes (BulkLoad drops and rebuilds their indexes on a big run).
TABLES = [Touchpoint._meta.db_table, StageTransition._meta.db_table, CustomerJourney._meta.db_table]

# Columns of a generated touchpoint, in order; the id is put in front when ids are reserved.
TOUCHPOINT_COLUMNS = [
    "customer_id",
    "type_id",
    "stage",
    "channel",
    "direction",
    "occurred_at",
    "summary",
    "amount",
    "currency",
    "order_reference",
    "campaign",
    "utm_source",
    "metadata",
    "source",
    "recorded_by_user_id",
    "idempotency_key",
    "created_at",
]
TRANSITION_COLUMNS = ["customer_id", "from_stage", "to_stage", "at", "ended_at", "is_manual", "reason"]
TRANSITION_COLUMNS += ["touchpoint_id", "channel", "by_id"]
JOURNEY_COLUMNS = ["customer_id", "stage", "stage_since", "created_at", "updated_at"]

# How far customers get (awareness, consideration, decision, retention), by weight. Most stall before
# decision: about 60% overall, once the one-visit customers (no second activity) are counted in.
_FINAL_STAGE_ONE_VISIT = cumulative([60, 30, 10, 0])
_FINAL_STAGE = cumulative([34, 24, 16, 26])
_FINAL_STAGE_WARM = cumulative([20, 20, 24, 36])  # came through the store, an event or a friend
_FINAL_STAGE_COLD = cumulative([42, 26, 12, 20])  # came through an ad or social media
_WARM_SOURCES = frozenset({"store", "event", "referral"})
_COLD_SOURCES = frozenset({"advertising", "social"})
_STAGE_RANKS = (0, 1, 2, 3)
# Mean number of further touchpoints in a stage after the one that entered it (exponential, floored).
_PHASE_MEAN = (2.0, 3.6, 1.8, 15.0)
_PHASE_MAX = (12, 20, 10, 400)
PURCHASE_SHARE_IN_RETENTION = 0.22
RETURN_SHARE = 0.05
_YEN_MEDIAN = 5500


@dataclass(frozen=True)
class JourneyType:
    pk: int
    slug: str
    stage: str
    rank: int
    channels: list[str]
    channels_cum: list[int]
    outbound_share: float
    summaries: tuple[list[str], list[str]]


@dataclass
class JourneyCatalogue:
    """The touchpoint types a journey draws from, read from the database once per run."""

    types: dict[str, JourneyType]
    by_stage: list[tuple[list[JourneyType], list[int]]]  # per stage rank: (types, cumulative weights)
    stages: list[str]

    @classmethod
    def load(cls, using: str = DEFAULT_DB_ALIAS) -> JourneyCatalogue | None:
        """None when the catalogue lacks a type the seeder uses (migrate has not run)."""
        stages = [value for value, _label in Touchpoint._meta.get_field("stage").choices]
        rows = {t.slug: t for t in TouchpointType.objects.using(using).filter(slug__in=demo_data.TOUCHPOINT_CHANNELS)}
        if set(rows) != set(demo_data.TOUCHPOINT_CHANNELS):
            return None
        types = {}
        for slug, (channels, outbound) in demo_data.TOUCHPOINT_CHANNELS.items():
            row = rows[slug]
            types[slug] = JourneyType(
                pk=row.pk,
                slug=slug,
                stage=row.stage,
                rank=stages.index(row.stage),
                channels=[c for c, _ in channels],
                channels_cum=cumulative(w for _, w in channels),
                outbound_share=outbound,
                summaries=demo_data.TOUCHPOINT_SUMMARIES[slug],
            )
        by_stage = [
            (
                [types[slug] for slug, _ in demo_data.TOUCHPOINT_TYPES_BY_STAGE[stage]],
                cumulative(w for _, w in demo_data.TOUCHPOINT_TYPES_BY_STAGE[stage]),
            )
            for stage in stages
        ]
        return cls(types=types, by_stage=by_stage, stages=stages)


@dataclass
class JourneyRows:
    """One customer's journey, ready to write: touchpoint ids are filled in when the chunk reserves them."""

    touchpoints: list[tuple]  # TOUCHPOINT_COLUMNS
    transitions: list[tuple[int, str, str, dt.datetime, str, int | None]]  # (touchpoint index, from, to, at, …)
    newest: dt.datetime


def _geometric(r: random.Random, mean: float, cap: int) -> int:
    return min(int(r.expovariate(1 / mean)), cap) if mean else 0


def _yen(r: random.Random, items: int) -> int:
    """A basket in yen: most between 1,500 and 20,000, a long tail, now and then a big-ticket item."""
    if r.random() < 0.005:
        return between(r, 50, 300) * 1000
    amount = r.lognormvariate(0, 0.75) * _YEN_MEDIAN * (1 + 0.35 * (items - 1))
    return max(1500, int(amount / 10) * 10)


def _journey_plan(
    r: random.Random, catalogue: JourneyCatalogue, customer: Row, *, one_visit: bool, length: int = 0
) -> list[tuple[JourneyType, float]]:
    """The journey's touchpoint types in order, each with the weight of the gap before it.

    ``length`` forces a journey to retention with about that many touchpoints (the long history).
    """
    source = customer.source
    if length:
        final = 3
    else:
        cum = (
            _FINAL_STAGE_ONE_VISIT
            if one_visit
            else _FINAL_STAGE_WARM
            if source in _WARM_SOURCES
            else _FINAL_STAGE_COLD
            if source in _COLD_SOURCES
            else _FINAL_STAGE
        )
        final = pick(r, _STAGE_RANKS, cum)
    start = 0
    if final >= 2 and r.random() < (0.4 if source in ("store", "event") else 0.08):
        start = 2  # walked in and bought: the first touchpoint is the purchase
    elif final >= 1 and source in ("web", "search") and r.random() < 0.15:
        start = 1  # landed straight on the shop's site
    buys = final == 3 or (final == 2 and r.random() < 0.7)
    types = catalogue.types
    purchase, refund = types["transaction"], types["return"]
    plan: list[tuple[JourneyType, float]] = []

    def draw(rank: int) -> JourneyType:
        population, cum_weights = catalogue.by_stage[rank]
        return pick(r, population, cum_weights)

    def buy(gap: float) -> None:
        plan.append((purchase, gap))
        if r.random() < RETURN_SHARE:
            plan.append((refund, 0.2))

    for rank in range(start, final + 1):
        entering = 2.0 if plan else 0.0
        extra = _geometric(r, _PHASE_MEAN[rank], _PHASE_MAX[rank])
        if rank == 2:
            walk_in = start == 2 and not plan and buys
            if walk_in:
                buy(entering)
            else:
                plan.append((draw(2), entering))
            for _ in range(extra):
                plan.append((draw(1) if r.random() < 0.3 else draw(2), 1.0))
            if buys and not walk_in:
                buy(0.3)
            continue
        if rank == 3:
            extra = max(length - len(plan) - 1, 0) if length else extra
            first = types["follow-up-email"] if r.random() < 0.6 else draw(3)
            plan.append((first, 0.1))
            for _ in range(extra):
                roll = r.random()
                if roll < PURCHASE_SHARE_IN_RETENTION:
                    buy(1.0)
                    if r.random() < 0.5:
                        plan.append((types["follow-up-email"], 0.1))
                elif roll < PURCHASE_SHARE_IN_RETENTION + 0.08:
                    plan.append((draw(1), 1.0))
                elif roll < PURCHASE_SHARE_IN_RETENTION + 0.13:
                    plan.append((draw(2), 1.0))
                else:
                    plan.append((draw(3), 1.0))
            continue
        plan.append((draw(rank), entering))
        for _ in range(extra):
            plan.append((draw(rank - 1) if rank and r.random() < 0.25 else draw(rank), 1.0))
    if length:
        del plan[length:]
    return plan


def journey_make(
    r: random.Random,
    ctx: SeedContext,
    catalogue: JourneyCatalogue,
    customer: Row,
    seq: int,
    *,
    length: int = 0,
) -> JourneyRows:
    """A customer's touchpoints from ``created_at`` on, and the stage transitions they make.

    The last touchpoint is the customer's last activity (the caller sets ``last_activity_at`` from
    ``newest``). A customer whose only activity was the day they joined gets a single visit of a few
    touchpoints minutes apart; the others' touchpoints spread from joining to their last activity,
    closer together after a purchase (the follow-up mail, a return) than between stages.
    """
    start = customer.created_at
    one_visit = customer.last_activity_at - start < _DAY and not length
    plan = _journey_plan(r, catalogue, customer, one_visit=one_visit, length=length)
    count = len(plan)
    if one_visit:
        span = min(sum(between(r, 2, 30) for _ in range(count - 1)) * 60, int((ctx.now - start).total_seconds()))
    elif length:
        span = int((ctx.now - start).total_seconds()) - between(r, 3600, 12 * 3600)
    else:
        span = int((customer.last_activity_at - start).total_seconds())
    span = max(0, min(span, int((ctx.now - start).total_seconds())))  # never past "now"
    gaps = [weight * r.expovariate(1.0) for _type, weight in plan]
    gaps[0] = 0.0
    scale = span / (sum(gaps) or 1.0)

    japanese = customer.preferred_language != "en"
    in_store = customer.source in ("store", "event")
    owners = ctx.owner_ids
    staff_id = customer.owner_id
    touchpoints: list[tuple] = []
    transitions: list[tuple[int, str, str, dt.datetime, str, int | None]] = []
    stage_rank = -1
    elapsed = 0.0
    purchases = 0
    last_order, last_amount = "", 0
    for index, (kind, _weight) in enumerate(plan):
        elapsed += gaps[index]
        occurred_at = start + dt.timedelta(seconds=int(elapsed * scale))
        slug = kind.slug
        amount = None
        order_reference = campaign = utm_source = ""
        metadata = "{}"
        if slug == "transaction":
            channel = "store" if r.random() < (0.75 if in_store else 0.3) else "web"
            items = 1 + _geometric(r, 0.8, 9)
            purchases += 1
            amount = last_amount = _yen(r, items)
            last_order = order_reference = f"{'POS' if channel == 'store' else 'EC'}-{seq:07d}-{purchases}"
            metadata = f'{{"items": {items}}}'
            summary = r.choice(kind.summaries[0 if japanese else 1]).format(items=items)
        else:
            channel = pick(r, kind.channels, kind.channels_cum)
            summary = r.choice(kind.summaries[0 if japanese else 1])
            if slug == "return":
                amount = last_amount if r.random() < 0.7 else int(last_amount / 20) * 10
                order_reference = last_order
        share = kind.outbound_share
        outbound = share == 1.0 or (share and r.random() < share)
        if channel in ("advertising", "social") or slug in ("brand-exposure", "cross-sell"):
            month = occurred_at.month
            campaign = f"{occurred_at.year}-{demo_data.SEASONS[month - 1]}-{r.choice(demo_data.CAMPAIGNS)}"
            if channel != "email":
                utm_source = pick(r, _UTM_SOURCES, _UTM_SOURCES_CUM)
        user_id = None
        if slug in ("transaction", "return", "loyalty-activity"):
            source = "import" if channel == "store" else "api"
        elif channel in ("phone", "store", "event"):
            source = "staff"
            user_id = staff_id or (owners[int(r.random() * len(owners))] if owners else None)
        elif outbound and channel in ("email", "line", "sms", "post"):
            source = "system"
        else:
            source = "api"
        touchpoints.append(
            (
                customer.id,
                kind.pk,
                kind.stage,
                channel,
                "outbound" if outbound else "inbound",
                occurred_at,
                summary,
                amount,
                "JPY",
                order_reference,
                campaign,
                utm_source,
                metadata,
                source,
                user_id,
                "",
                occurred_at,
            )
        )
        if kind.rank > stage_rank:  # what touchpoint_record does: only ever forward
            from_stage = catalogue.stages[stage_rank] if stage_rank >= 0 else ""
            transitions.append((index, from_stage, kind.stage, occurred_at, channel, user_id))
            stage_rank = kind.rank
    return JourneyRows(touchpoints=touchpoints, transitions=transitions, newest=touchpoints[-1][5])


_UTM_SOURCES = [s for s, _ in demo_data.UTM_SOURCES]
_UTM_SOURCES_CUM = cumulative(w for _, w in demo_data.UTM_SOURCES)


def journeys_write(writer: TableWriter, catalogue: JourneyCatalogue, journeys: list[JourneyRows]) -> tuple[int, int]:
    """Write a chunk's journeys: reserve the touchpoints' ids, then touchpoints, transitions and journey rows."""
    count = sum(len(j.touchpoints) for j in journeys)
    if not count:
        return 0, 0
    next_id = writer.reserve_ids(Touchpoint, count)
    touchpoints, transitions, rows = [], [], []
    for journey in journeys:
        first = next_id
        for touchpoint in journey.touchpoints:
            touchpoints.append((next_id, *touchpoint))
            next_id += 1
        chain = journey.transitions
        if not chain:
            continue
        customer_id = journey.touchpoints[0][0]
        for position, (index, from_stage, to_stage, at, channel, by_id) in enumerate(chain):
            ended_at = chain[position + 1][3] if position + 1 < len(chain) else None  # closed by the next one
            transitions.append(
                (customer_id, from_stage, to_stage, at, ended_at, False, "", first + index, channel, by_id)
            )
        rows.append((customer_id, chain[-1][2], chain[-1][3], chain[0][3], chain[-1][3]))
    writer.write_tuples(Touchpoint, ["id", *TOUCHPOINT_COLUMNS], touchpoints)
    writer.write_tuples(StageTransition, TRANSITION_COLUMNS, transitions)
    writer.write_tuples(CustomerJourney, JOURNEY_COLUMNS, rows)
    return len(touchpoints), len(transitions)


class JourneySeeder:
    """Gives each seeded customer a journey (a ``CustomerSeedExtension``); written chunk by chunk.

    With ``long_history``, the first customer of the run gets a journey of that many touchpoints (the
    benchmarks' timeline customer).
    """

    def __init__(self, *, ctx: SeedContext, catalogue: JourneyCatalogue, long_history: int = 0) -> None:
        self.ctx = ctx
        self.catalogue = catalogue
        self.long_history = long_history
        self.journeys_rng = rng(ctx.seed, "journeys", ctx.first_seq)
        self.long_rng = rng(ctx.seed, "long-history", ctx.first_seq)
        self.pending: list[JourneyRows] = []

    def customer_made(self, customer: Row, *, index: int, seq: int) -> None:
        if index == 0 and self.long_history:
            journey = journey_make(self.long_rng, self.ctx, self.catalogue, customer, seq, length=self.long_history)
        else:
            journey = journey_make(self.journeys_rng, self.ctx, self.catalogue, customer, seq)
        # The customer's last activity is their newest touchpoint (as touchpoint_record leaves it).
        customer.last_activity_at = customer.updated_at = journey.newest
        self.pending.append(journey)

    def chunk_write(self, writer: TableWriter) -> dict[str, int]:
        touchpoints, transitions = journeys_write(writer, self.catalogue, self.pending)
        self.pending = []
        return {"touchpoints": touchpoints, "transitions": transitions}
