"""``manage.py seed_demo``: a realistic, deterministic demo database.

    manage.py seed_demo [--customers 300] [--seed 42] [--today YYYY-MM-DD] [--append] [--staff-only]
                        [--no-journeys] [--long-history N]

Creates the demo staff (``manager``, ``support``, ``marketing`` and two more owners, in their role
groups, plus the superuser ``admin``; all with the password ``tsunagu-demo``), ten tags, and N
customers — about 80% Japanese (kanji names with katakana readings, addresses by prefecture, 090/080
mobiles) and 20% English-speaking — with sources, owners, tags, consent with its proof, birth dates,
activity dates over the last three years and a few notes; and, when the touchpoints app is installed,
each customer's journey: about ten touchpoints on average (a long tail: a few have a hundred), most
customers stalling before decision, purchases in yen with some returns, the stage transitions and the
journey row exactly as ``touchpoint_record`` would have left them, and the customer's
``last_activity_at`` at their newest touchpoint. ``--long-history N`` gives the first new customer N
touchpoints (the benchmarks' timeline customer).

The same N, seed and ``--today`` give the same data: every kind of data draws from its own
``random.Random`` stream (``rng(seed, kind)``), so a later kind (touchpoints, loyalty, tickets) adds
a stream of its own and leaves the customers it builds on unchanged. Each kind is one small
``<kind>_make`` function; ``seed_customers`` writes them chunk by chunk through ``TableWriter``:
PostgreSQL COPY, ``bulk_create`` elsewhere (SQLite). On PostgreSQL a big run loads as pg_restore does
(``BulkLoad``): 100,000 customers take about 10 s and a million about 2 minutes on a small machine,
half of it building the trigram search index; their ten million touchpoints add a few minutes.

Staff are created once and left alone on later runs, so the command is safe to re-run; customers are
refused when some exist already, unless ``--append`` is given.
"""

from __future__ import annotations

import bisect
import contextlib
import datetime as dt
import itertools
import json
import operator
import random
import time
import types
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps as django_apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections, models, transaction
from django.db.models import Max
from django.utils import timezone

from customers import demo_data
from customers.models import Customer, CustomerActivity, Note, Tag

CHUNK_SIZE = 20_000  # customers generated and written per round (bounded memory at any N)
YEARS_OF_HISTORY = 3
# Above this many customers in one run, PostgreSQL loads as pg_restore does (see BulkLoad).
REBUILD_INDEXES_ABOVE = 50_000


def rng(seed: int, kind: str, offset: int = 1) -> random.Random:
    """The random stream for one kind of data; string seeds hash with SHA-512, stable across runs."""
    return random.Random(f"{seed}:{kind}:{offset}")


@dataclass
class SeedContext:
    """What every ``<kind>_make`` function may read: the clock, the staff, the tags, the options."""

    seed: int
    now: dt.datetime  # every generated timestamp is at or before this instant
    first_seq: int = 1  # customer numbering (emails, external IDs); unique across --append runs
    staff: dict[str, Any] = field(default_factory=dict)
    owner_ids: list[int] = field(default_factory=list)
    owner_cum_weights: list[int] = field(default_factory=list)
    tags: dict[str, Tag] = field(default_factory=dict)


class Row(types.SimpleNamespace):
    """One row to write, its attributes named like the model's (attname); ``derive_fields`` fills it too."""


def cumulative(weights: Iterable[int]) -> list[int]:
    return list(itertools.accumulate(weights))


def pick(r: random.Random, population: Sequence, cum_weights: Sequence[int]):
    """``r.choices(population, cum_weights=cum_weights)[0]``, without its per-call overhead."""
    return population[bisect.bisect_right(cum_weights, r.random() * cum_weights[-1])]


def between(r: random.Random, low: int, high: int) -> int:
    """A number from low to high inclusive (like ``randint``, a third of its cost)."""
    return low + int(r.random() * (high - low + 1))


# Precomputed cumulative weights for the weighted lists in demo_data.
_FAMILY_CUM = cumulative(w for *_, w in demo_data.FAMILY_NAMES)
_PREFECTURE_CUM = cumulative(w for _, w, _ in demo_data.PREFECTURES)
_SOURCE_VALUES = [s for s, _ in demo_data.SOURCES]
_SOURCE_CUM = cumulative(w for _, w in demo_data.SOURCES)
_DOMAINS_JA = [d for d, _ in demo_data.EMAIL_DOMAINS_JA]
_DOMAINS_JA_CUM = cumulative(w for _, w in demo_data.EMAIL_DOMAINS_JA)
_DOMAINS_EN = [d for d, _ in demo_data.EMAIL_DOMAINS_EN]
_DOMAINS_EN_CUM = cumulative(w for _, w in demo_data.EMAIL_DOMAINS_EN)
_CHANNELS = ["email", "line", "phone", "sms", "post", "none"]
_CHANNELS_CUM = cumulative([50, 20, 10, 5, 5, 10])
_TAG_COUNTS = (0, 1, 2, 3)
_TAG_COUNTS_CUM = cumulative([35, 35, 20, 10])
_CONSENT_SOURCE_BY_SOURCE = {"store": "in_store", "event": "in_store", "phone": "verbal"}
_HISTORY = dt.timedelta(days=YEARS_OF_HISTORY * 365)
_DAY = dt.timedelta(days=1)


# --- Staff and tags -------------------------------------------------------------------------------


def staff_ensure(*, password: str = demo_data.DEMO_PASSWORD) -> tuple[dict[str, Any], list[str]]:
    """Create the demo staff that do not exist yet (a re-run changes nothing); return them by username."""
    User = get_user_model()
    groups = {g.name: g for g in Group.objects.filter(name__in={role for *_, role, _ in demo_data.DEMO_STAFF})}
    staff: dict[str, Any] = {}
    report: list[str] = []
    for username, first_name, last_name, role, superuser in demo_data.DEMO_STAFF:
        if role and role not in groups:
            raise CommandError(f"The group {role!r} does not exist: run `manage.py migrate` first.")
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User(
                username=username,
                first_name=first_name,
                last_name=last_name,
                email=f"{username}@example.com",
                is_staff=True,
                is_superuser=superuser,
            )
            user.set_password(password)
            user.save()
            note = password
        else:
            note = "(already existed; password unchanged)"
        if role:
            user.groups.add(groups[role])
        staff[username] = user
        report.append(f"  {username:<10} {note:<38} {'superuser (/admin/)' if superuser else role}")
    return staff, report


def tags_ensure() -> dict[str, Tag]:
    """The demo tags, created when missing (matched ignoring case, as the constraint does)."""
    existing = {t.name.lower(): t for t in Tag.objects.all()}
    tags = {}
    for name, color, description, _weight in demo_data.TAGS:
        tag = existing.get(name.lower())
        if tag is None:
            tag = Tag.objects.create(name=name, color=color, description=description)
        tags[name] = tag
    return tags


# --- Customers ------------------------------------------------------------------------------------


def _jp_mobile(r: random.Random) -> str:
    return f"+81{'90' if r.random() < 0.5 else '80'}{between(r, 10_000_000, 99_999_999)}"


def _jp_address(r: random.Random, row: Row) -> None:
    prefecture, _w, cities = pick(r, demo_data.PREFECTURES, _PREFECTURE_CUM)
    city, postal_prefix, towns = r.choice(cities)
    row.postal_code = f"{postal_prefix}-{between(r, 0, 9999):04d}"
    row.region = prefecture
    row.city = city
    row.address_line1 = f"{r.choice(towns)}{between(r, 1, 5)}-{between(r, 1, 30)}-{between(r, 1, 20)}"
    if r.random() < 0.4:
        row.address_line2 = f"{r.choice(demo_data.BUILDINGS)} {between(r, 1, 12)}{between(r, 1, 12):02d}号室"


def _abroad_address(r: random.Random, row: Row) -> None:
    country, region, city, postal = r.choice(demo_data.WESTERN_ADDRESSES)
    row.postal_code = postal.format(between(r, 1, 99) if "{:02d}" in postal else between(r, 1, 9))
    row.region = region
    row.city = city
    row.address_line1 = f"{between(r, 1, 2500)} {r.choice(demo_data.WESTERN_STREETS)}"
    if r.random() < 0.3:
        row.address_line2 = f"Apt {between(r, 1, 40)}"
    row.country = country
    if country in demo_data.NANP_AREA_CODES and r.random() < 0.8:  # 555-0100..0199 are reserved as fictional
        row.phone = f"+1{r.choice(demo_data.NANP_AREA_CODES[country])}5550{between(r, 100, 199)}"


def _birth_date(r: random.Random, year: int) -> dt.date:
    if r.random() < 0.015:  # a few leap-day birthdays, to exercise the 29 February rules
        return dt.date(year - year % 4, 2, 29)
    return dt.date(year, 1, 1) + dt.timedelta(days=int(r.random() * 365))


def _generation(year: int) -> str:
    return "older" if year < 1970 else "middle" if year < 1995 else "younger"


def customer_make(r: random.Random, ctx: SeedContext, seq: int, slot: tuple[int, int] = (0, 1)) -> Row:
    """One customer row, its sort and search keys derived.

    ``seq`` numbers it (emails, external IDs); ``slot`` is (i, n): the i-th of n customers in the order
    they joined, so that ids grow with ``created_at`` as they do in a real shop's table.
    """
    now = ctx.now
    row = Row(
        family_name_kana="",
        given_name_kana="",
        phone="",
        company="",
        postal_code="",
        region="",
        city="",
        address_line1="",
        address_line2="",
        country="JP",
    )
    age = int(r.triangular(18, 86, 38))
    birth_year = now.year - age - 1 + (r.random() < 0.5)
    if r.random() < 0.2:  # English-speaking: Western names, no kana
        given, family = r.choice(demo_data.WESTERN_GIVEN_NAMES), r.choice(demo_data.WESTERN_FAMILY_NAMES)
        row.family_name, row.given_name, row.preferred_language = family, given, "en"
        local = f"{given}.{family}".lower().replace("'", "")
        domain = pick(r, _DOMAINS_EN, _DOMAINS_EN_CUM)
        if r.random() < 0.65:  # lives in Japan
            _jp_address(r, row)
            if r.random() < 0.8:
                row.phone = _jp_mobile(r)
        else:
            _abroad_address(r, row)
        if r.random() < 0.1:
            row.company = r.choice(demo_data.COMPANIES_EN)
        has_email = r.random() < 0.98
    else:
        family, family_kana, family_romaji, _w = pick(r, demo_data.FAMILY_NAMES, _FAMILY_CUM)
        names = demo_data.GIVEN_NAMES_FEMALE if r.random() < 0.52 else demo_data.GIVEN_NAMES_MALE
        given, given_kana, given_romaji = r.choice(names[_generation(birth_year)])
        row.family_name, row.given_name, row.preferred_language = family, given, "ja"
        row.family_name_kana, row.given_name_kana = family_kana, given_kana
        local = (
            f"{given_romaji}.{family_romaji}",
            f"{family_romaji}.{given_romaji}",
            f"{given_romaji}_{family_romaji}",
            f"{given_romaji[0]}{family_romaji}",
        )[int(r.random() * 4)]
        domain = pick(r, _DOMAINS_JA, _DOMAINS_JA_CUM)
        if r.random() < 0.9:
            _jp_address(r, row)
        if r.random() < 0.85:
            row.phone = _jp_mobile(r)
        if r.random() < 0.15:
            row.company = r.choice(demo_data.COMPANIES_JA)
        has_email = r.random() < 0.92
    if row.company and r.random() < 0.5:
        domain = demo_data.EMAIL_DOMAIN_COMPANY
    # ``seq`` is unique across runs, so the address is too, whatever the names drawn.
    row.email = email = f"{local}{seq}@{domain}" if has_email else ""

    # Joined some time in the last three years, more of them recently (the shop is growing): the i-th of n
    # sits at (i + u) / n of the way, stretched so that the newest year holds about 40% of them.
    i, n = slot
    created_at = now - _HISTORY * (1 - ((i + r.random()) / n) ** 0.75)
    created_at = created_at.replace(microsecond=0)
    last_activity_at = created_at if r.random() < 0.15 else created_at + (now - created_at) * r.random() ** 0.5
    row.created_at = created_at
    row.last_activity_at = row.updated_at = last_activity_at

    row.source = source = pick(r, _SOURCE_VALUES, _SOURCE_CUM)
    channel = pick(r, _CHANNELS, _CHANNELS_CUM)
    if channel == "email" and not email:
        channel = "phone" if row.phone else "post"
    row.preferred_channel = channel
    row.owner_id = pick(r, ctx.owner_ids, ctx.owner_cum_weights) if ctx.owner_ids and r.random() < 0.8 else None
    row.external_id = f"POS-{seq:08d}" if source == "store" and r.random() < 0.6 else ""

    row.do_not_contact = do_not_contact = r.random() < 0.015
    row.marketing_consent, row.consent_at, row.consent_source, row.consent_evidence = False, None, "", ""
    roll = r.random()
    if email and not do_not_contact and roll < 0.66:
        consent_source = _CONSENT_SOURCE_BY_SOURCE.get(source) or ("web_form" if r.random() < 0.85 else "email")
        row.marketing_consent, row.consent_source = True, consent_source
        row.consent_at = min(created_at + _DAY * (r.random() * 30), now)
        row.consent_evidence = r.choice(demo_data.CONSENT_EVIDENCE[consent_source])
    elif email and roll < 0.69:  # opted in once, withdrew later: consent_at records the withdrawal
        row.consent_at = created_at + (last_activity_at - created_at) * r.random()
    row.birth_date = _birth_date(r, birth_year) if r.random() < 0.7 else None
    Customer.derive_fields(row)  # the model's own rule for name_sort and search_text
    return row


def customer_tags_make(r: random.Random, ctx: SeedContext, customer: Row) -> list[int]:
    """0–3 tag ids, weighted by how common each tag is and by what fits the customer."""
    count = pick(r, _TAG_COUNTS, _TAG_COUNTS_CUM)
    if not count:
        return []
    now = ctx.now
    fits = {
        "法人": bool(customer.company),
        "Wholesale": bool(customer.company) or r.random() < 0.2,
        "新規": now - customer.created_at < 90 * _DAY,
        "休眠": now - customer.last_activity_at > 365 * _DAY,
        "Newsletter": customer.marketing_consent,
        "VIP": now - customer.created_at > 365 * _DAY,
    }
    names, weights = [], []
    for name, _color, _description, weight in demo_data.TAGS:
        if name in ctx.tags:
            fit = fits.get(name)
            names.append(name)
            weights.append(weight if fit is None else weight * 6 if fit else 0)
    chosen: list[int] = []
    for _ in range(count):
        total = sum(weights)
        if not total:
            break
        i = bisect.bisect_right(list(itertools.accumulate(weights)), r.random() * total)
        weights[i] = 0
        chosen.append(ctx.tags[names[i]].pk)
    return chosen


def customer_notes_make(r: random.Random, ctx: SeedContext, customer: Row) -> list[Row]:
    """A note or two on about one customer in twenty, by their owner or another staff member."""
    if r.random() >= 0.05:
        return []
    bodies = demo_data.NOTES_EN if customer.preferred_language == "en" else demo_data.NOTES_JA
    span = customer.last_activity_at - customer.created_at
    return [
        Row(
            customer_id=customer.id,
            author_id=customer.owner_id or (r.choice(ctx.owner_ids) if ctx.owner_ids else None),
            body=r.choice(bodies),
            created_at=customer.created_at + span * r.random(),
        )
        for _ in range(1 if r.random() < 0.7 else 2)
    ]


# --- Journeys -------------------------------------------------------------------------------------
#
# Each customer gets a journey through the stages (awareness → consideration → decision → retention):
# its touchpoints, the stage transitions ``touchpoint_record`` would have made from them, and the
# customer's journey row. The touchpoints app sits above customers, so its models are looked up by
# name (``apps.get_model``) and only when it is installed.

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
_MINUTE = dt.timedelta(minutes=1)


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
        """None when the touchpoints app is not installed or its catalogue lacks a type the seeder uses."""
        if not django_apps.is_installed("touchpoints"):
            return None
        touchpoint_type = django_apps.get_model("touchpoints", "TouchpointType")
        touchpoint = django_apps.get_model("touchpoints", "Touchpoint")
        stages = [value for value, _label in touchpoint._meta.get_field("stage").choices]
        rows = {t.slug: t for t in touchpoint_type.objects.using(using).filter(slug__in=demo_data.TOUCHPOINT_CHANNELS)}
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


JOURNEY_MODELS = ("Touchpoint", "StageTransition", "CustomerJourney")
_UTM_SOURCES = [s for s, _ in demo_data.UTM_SOURCES]
_UTM_SOURCES_CUM = cumulative(w for _, w in demo_data.UTM_SOURCES)


def journeys_write(writer: TableWriter, catalogue: JourneyCatalogue, journeys: list[JourneyRows]) -> tuple[int, int]:
    """Write a chunk's journeys: reserve the touchpoints' ids, then touchpoints, transitions and journey rows."""
    touchpoint_model = django_apps.get_model("touchpoints", "Touchpoint")
    transition_model = django_apps.get_model("touchpoints", "StageTransition")
    journey_model = django_apps.get_model("touchpoints", "CustomerJourney")
    count = sum(len(j.touchpoints) for j in journeys)
    if not count:
        return 0, 0
    next_id = writer.reserve_ids(touchpoint_model, count)
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
    writer.write_tuples(touchpoint_model, ["id", *TOUCHPOINT_COLUMNS], touchpoints)
    writer.write_tuples(transition_model, TRANSITION_COLUMNS, transitions)
    writer.write_tuples(journey_model, JOURNEY_COLUMNS, rows)
    return len(touchpoints), len(transitions)


# --- Writing --------------------------------------------------------------------------------------


class TableWriter:
    """Writes ``Row``s fast: COPY on PostgreSQL (psycopg 3), ``bulk_create`` in batches elsewhere.

    Rows are written as they are, without ``save()``: the caller fills every column, ``auto_now`` ones
    and derived fields included (a missing column gets the field's default). The primary key is written
    when the rows carry it and left to the database when they do not.
    """

    def __init__(self, using: str = DEFAULT_DB_ALIAS, *, batch_size: int = 1000, copy: bool | None = None) -> None:
        self.connection = connections[using]
        self.using = using
        self.batch_size = batch_size
        self.copy = self.connection.vendor == "postgresql" if copy is None else copy

    def reserve_ids(self, model: type[models.Model], count: int) -> int:
        """Reserve ``count`` consecutive primary keys (call inside the loading transaction); return the first."""
        table = model._meta.db_table
        pk = model._meta.pk.column
        quote = self.connection.ops.quote_name
        with self.connection.cursor() as cursor:
            if self.connection.vendor == "postgresql":
                cursor.execute(f"LOCK TABLE {quote(table)} IN SHARE ROW EXCLUSIVE MODE")
                cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [table, pk])
                (sequence,) = cursor.fetchone()
                cursor.execute(f"SELECT COALESCE(MAX({quote(pk)}), 0) FROM {quote(table)}")  # noqa: S608 (model names)
                (max_id,) = cursor.fetchone()
                cursor.execute("SELECT nextval(%s)", [sequence])
                (first,) = cursor.fetchone()
                first = max(first, max_id + 1)
                cursor.execute("SELECT setval(%s, %s)", [sequence, max(first + count - 1, 1)])
                return first
            cursor.execute(f"SELECT COALESCE(MAX({quote(pk)}), 0) FROM {quote(table)}")  # noqa: S608 (model names)
            (first,) = cursor.fetchone()
            if self.connection.vendor == "sqlite":  # AUTOINCREMENT never reuses a deleted row's id
                cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
                found = cursor.fetchone()
                first = max(first, found[0] if found else 0)
            return first + 1

    def write(self, model: type[models.Model], rows: Sequence[Row]) -> None:
        if not rows:
            return
        first = rows[0]
        with_pk = getattr(first, model._meta.pk.attname, None) is not None
        fields = [f for f in model._meta.concrete_fields if with_pk or not f.primary_key]
        for f in fields:
            if not hasattr(first, f.attname):
                default = f.get_default()
                for row in rows:
                    setattr(row, f.attname, default)
        if not self.copy:
            objs = [model(**{f.attname: getattr(row, f.attname) for f in fields}) for row in rows]
            model._base_manager.using(self.using).bulk_create(objs, batch_size=self.batch_size)
            return
        quote = self.connection.ops.quote_name
        columns = ", ".join(quote(f.column) for f in fields)
        values = operator.attrgetter(*(f.attname for f in fields))
        sql = f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN"
        with self.connection.cursor() as cursor, cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(values(row))

    def write_tuples(self, model: type[models.Model], columns: Sequence[str], rows: Sequence[tuple]) -> None:
        """Write rows given as tuples in ``columns`` order (attnames): the fast path for millions of rows.

        Other concrete fields get their default. JSON columns hold their JSON text.
        """
        if not rows:
            return
        fields = {f.attname: f for f in model._meta.concrete_fields}
        rest = [f for name, f in fields.items() if name not in columns and not f.primary_key]
        defaults = tuple(f.get_default() for f in rest)
        names = [*columns, *(f.attname for f in rest)]
        json_at = [i for i, name in enumerate(names) if isinstance(fields[name], models.JSONField)]
        if not self.copy:
            objs = []
            for row in rows:
                values = [*row, *defaults]
                for i in json_at:
                    if isinstance(values[i], str):
                        values[i] = json.loads(values[i])
                objs.append(model(**dict(zip(names, values, strict=True))))
            model._base_manager.using(self.using).bulk_create(objs, batch_size=self.batch_size)
            return
        quote = self.connection.ops.quote_name
        sql = f"COPY {quote(model._meta.db_table)} ({', '.join(quote(fields[n].column) for n in names)}) FROM STDIN"
        json_defaults = any(i >= len(columns) for i in json_at)
        if json_defaults:  # a JSON field the caller left out: its default as JSON text
            defaults = tuple(json.dumps(d) if isinstance(d, dict | list) else d for d in defaults)
        with self.connection.cursor() as cursor, cursor.copy(sql) as copy:
            if defaults:
                for row in rows:
                    copy.write_row(row + defaults)
            else:
                for row in rows:
                    copy.write_row(row)


class BulkLoad:
    """Drop the loaded tables' secondary indexes and foreign keys for a big COPY; put them back after.

    The way pg_restore loads: one CREATE INDEX and one foreign-key check per table at the end are much
    faster than upkeep and a trigger per row. PostgreSQL only, and inside the loading transaction, so if
    anything fails the drops roll back too. Primary keys and unique indexes stay: the database still
    guarantees unique ids, emails and external IDs during the load. The definitions are read back from
    the catalogue (``pg_get_indexdef``/``pg_get_constraintdef``), so they come back exactly as they were.
    """

    def __init__(self, connection, tables: list[str]) -> None:
        self.connection = connection
        self.tables = tables
        self.indexes: list[str] = []  # CREATE INDEX statements
        self.foreign_keys: list[tuple[str, str, str]] = []  # (table, name, definition)
        self.timings: list[tuple[str, float]] = []  # (statement, seconds)

    def __enter__(self) -> BulkLoad:
        quote = self.connection.ops.quote_name
        with self.connection.cursor() as cursor:
            cursor.execute(
                "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint"
                " WHERE contype = 'f' AND conrelid = ANY(%s::regclass[]) ORDER BY conrelid, conname",
                [self.tables],
            )
            self.foreign_keys = cursor.fetchall()
            cursor.execute(
                "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index"
                " WHERE indrelid = ANY(%s::regclass[]) AND NOT indisunique AND NOT indisprimary"
                " ORDER BY indrelid, indexrelid",
                [self.tables],
            )
            indexes = cursor.fetchall()
            for table, name, _definition in self.foreign_keys:
                cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {quote(name)}")
            for name, definition in indexes:
                cursor.execute(f"DROP INDEX {name}")
                self.indexes.append(definition)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            return  # the transaction rolls back, the drops with it
        quote = self.connection.ops.quote_name
        statements = [
            *self.indexes,
            *(
                f"ALTER TABLE {table} ADD CONSTRAINT {quote(name)} {definition}"
                for table, name, definition in self.foreign_keys
            ),
        ]
        with self.connection.cursor() as cursor:
            cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
            for statement in statements:
                started = time.monotonic()
                cursor.execute(statement)
                self.timings.append((statement, time.monotonic() - started))

    @property
    def seconds(self) -> float:
        return sum(seconds for _, seconds in self.timings)


def seed_customers(
    *,
    ctx: SeedContext,
    count: int,
    writer: TableWriter,
    progress=None,
    chunk_size: int = CHUNK_SIZE,
    catalogue: JourneyCatalogue | None = None,
    long_history: int = 0,
) -> dict[str, int]:
    """Generate and write ``count`` customers with their tags, notes and (given a catalogue) journeys, chunk by
    chunk. With ``long_history``, the first customer of the run gets a journey of that many touchpoints."""
    customers_rng = rng(ctx.seed, "customers", ctx.first_seq)
    tags_rng = rng(ctx.seed, "tags", ctx.first_seq)
    notes_rng = rng(ctx.seed, "notes", ctx.first_seq)
    journeys_rng = rng(ctx.seed, "journeys", ctx.first_seq)
    long_rng = rng(ctx.seed, "long-history", ctx.first_seq)
    first_id = writer.reserve_ids(Customer, count)
    totals = {"customers": 0, "tags": 0, "notes": 0, "touchpoints": 0, "transitions": 0}
    for start in range(0, count, chunk_size):
        customers, links, notes, journeys = [], [], [], []
        for i in range(start, min(start + chunk_size, count)):
            seq = ctx.first_seq + i
            customer = customer_make(customers_rng, ctx, seq, (i, count))
            customer.id = first_id + i
            if catalogue is not None:
                if i == 0 and long_history:
                    journey = journey_make(long_rng, ctx, catalogue, customer, seq, length=long_history)
                else:
                    journey = journey_make(journeys_rng, ctx, catalogue, customer, seq)
                # The customer's last activity is their newest touchpoint (as touchpoint_record leaves it).
                customer.last_activity_at = customer.updated_at = journey.newest
                journeys.append(journey)
            customers.append(customer)
            links.extend(
                Row(customer_id=customer.id, tag_id=tag_id) for tag_id in customer_tags_make(tags_rng, ctx, customer)
            )
            notes.extend(customer_notes_make(notes_rng, ctx, customer))
        # Each customer's activity row first, at their newest touchpoint: the trigger that gives every new customer
        # one (at their creation) then leaves it be. The foreign key is checked at commit.
        writer.write_tuples(
            CustomerActivity, ["customer_id", "last_activity_at"], [(c.id, c.last_activity_at) for c in customers]
        )
        writer.write(Customer, customers)
        writer.write(Customer.tags.through, links)
        writer.write(Note, notes)
        if catalogue is not None:
            touchpoints, transitions = journeys_write(writer, catalogue, journeys)
            totals["touchpoints"] += touchpoints
            totals["transitions"] += transitions
        totals["customers"] += len(customers)
        totals["tags"] += len(links)
        totals["notes"] += len(notes)
        if progress:
            progress(totals)
    return totals


class Command(BaseCommand):
    help = "Create the demo staff and a realistic, deterministic set of demo customers (COPY on PostgreSQL)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--customers", type=int, default=300, help="How many customers to create (default 300).")
        parser.add_argument("--seed", type=int, default=42, help="Random seed: the same seed gives the same data.")
        parser.add_argument(
            "--today",
            type=dt.date.fromisoformat,
            default=None,
            help="Date the history ends on (YYYY-MM-DD; default today): pins every generated timestamp.",
        )
        parser.add_argument("--append", action="store_true", help="Add customers even when some exist already.")
        parser.add_argument("--staff-only", action="store_true", help="Only make sure the demo staff and tags exist.")
        parser.add_argument(
            "--no-journeys", action="store_true", help="Customers only: no touchpoints, stage changes or journeys."
        )
        parser.add_argument(
            "--long-history",
            type=int,
            default=0,
            metavar="N",
            help="Give the first new customer a history of N touchpoints (the timeline benchmark's customer).",
        )

    def handle(self, *args, **options) -> None:
        count: int = options["customers"]
        if count < 0:
            raise CommandError("--customers must be zero or more.")
        if options["long_history"] < 0:
            raise CommandError("--long-history must be zero or more.")
        using = DEFAULT_DB_ALIAS
        business_tz = timezone.get_default_timezone()  # the business time zone, whatever zone is active
        today = options["today"] or timezone.localdate(timezone=business_tz)
        # The history ends at the start of ``today`` (local time): fixed for the day, never in the future.
        now = timezone.make_aware(dt.datetime.combine(today, dt.time.min), business_tz)
        started = time.monotonic()

        with transaction.atomic(using=using):
            staff, logins = staff_ensure()
            tags = tags_ensure()
        if options["staff_only"] or count == 0:
            self._print_logins(logins)
            return

        with transaction.atomic(using=using):
            writer = TableWriter(using)
            existing = Customer.objects.using(using).count()
            if existing and not options["append"]:
                self.stdout.write(
                    self.style.WARNING(
                        f"The database already has {existing:,} customers: not adding any. "
                        f"Run with --append to add {count:,} more, or start from an empty database."
                    )
                )
                self._print_logins(logins)
                return
            owners = [(staff[name].pk, weight) for name, weight in demo_data.DEMO_OWNERS if name in staff]
            ctx = SeedContext(
                seed=options["seed"],
                now=now,
                # Numbers above every existing id: emails and external IDs stay unique across --append runs.
                first_seq=1 if not existing else (Customer.objects.using(using).aggregate(m=Max("pk"))["m"] or 0) + 1,
                staff=staff,
                owner_ids=[pk for pk, _ in owners],
                owner_cum_weights=cumulative(w for _, w in owners),
                tags=tags,
            )
            connection = connections[using]
            tables = [
                Customer._meta.db_table,
                CustomerActivity._meta.db_table,
                Customer.tags.through._meta.db_table,
                Note._meta.db_table,
            ]
            catalogue = None if options["no_journeys"] else JourneyCatalogue.load(using)
            if catalogue is not None:
                tables += [django_apps.get_model("touchpoints", name)._meta.db_table for name in JOURNEY_MODELS]
            elif not options["no_journeys"]:
                self.stdout.write(self.style.WARNING("No touchpoint catalogue (run migrate): customers only."))
            rebuild = writer.copy and count > REBUILD_INDEXES_ABOVE
            with BulkLoad(connection, tables) if rebuild else contextlib.nullcontext() as load:
                totals = seed_customers(
                    ctx=ctx,
                    count=count,
                    writer=writer,
                    progress=self._progress(count, started),
                    catalogue=catalogue,
                    long_history=options["long_history"],
                )
            if load:
                self.stdout.write(
                    f"  rebuilt {len(load.indexes)} indexes and {len(load.foreign_keys)} foreign keys "
                    f"in {load.seconds:.1f}s"
                )
                if options["verbosity"] >= 2:
                    for statement, seconds in sorted(load.timings, key=lambda t: -t[1]):
                        self.stdout.write(f"    {seconds:6.1f}s  {statement}")
        if writer.copy:
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {', '.join(tables)}")
        elapsed = time.monotonic() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"Created {totals['customers']:,} customers ({totals['tags']:,} tag links, {totals['notes']:,} notes, "
                f"{totals['touchpoints']:,} touchpoints, {totals['transitions']:,} stage changes) in {elapsed:.1f}s."
            )
        )
        self._print_logins(logins)

    def _progress(self, count: int, started: float):
        if count < 100_000:
            return None

        def report(totals: dict[str, int]) -> None:
            done = totals["customers"]
            if done % 100_000 < CHUNK_SIZE or done == count:
                rate = done / max(time.monotonic() - started, 1e-9)
                touchpoints = f", {totals['touchpoints']:,} touchpoints" if totals["touchpoints"] else ""
                self.stdout.write(f"  {done:,} / {count:,} customers{touchpoints} ({rate:,.0f} customers/s)")

        return report

    def _print_logins(self, logins: list[str]) -> None:
        self.stdout.write("Demo logins (demo data only):")
        for line in logins:
            self.stdout.write(line)
