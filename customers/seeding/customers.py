"""The demo customers: staff, tags, customers with their tag links, notes and activity rows.

Each kind is one small ``<kind>_make`` function drawing from its own stream; ``seed_customers`` writes
them chunk by chunk through ``TableWriter``. An app above customers adds its own rows per customer
through a ``CustomerSeedExtension`` (the journeys: ``touchpoints.seeding``), writing its own tables.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import CommandError
from django.db import DEFAULT_DB_ALIAS
from django.db.models import Max

from customers import demo_data
from customers.demo_data import names as person_names
from customers.demo_data import places
from customers.models import Customer, CustomerActivity, Note, Tag
from customers.seeding.draws import Row, between, cumulative, pick, rng
from customers.seeding.tables import TableWriter

CHUNK_SIZE = 20_000  # customers generated and written per round (bounded memory at any N)
YEARS_OF_HISTORY = 3
# The tables seed_customers writes (BulkLoad drops and rebuilds their indexes on a big run).
TABLES = [
    Customer._meta.db_table,
    CustomerActivity._meta.db_table,
    Customer.tags.through._meta.db_table,
    Note._meta.db_table,
]


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


def seed_context_make(
    *, seed: int, now: dt.datetime, staff: dict[str, Any], tags: dict[str, Tag], using: str = DEFAULT_DB_ALIAS
) -> SeedContext:
    """The context of a run: the demo owners with their weights, and numbering above every existing customer."""
    owners = [(staff[name].pk, weight) for name, weight in demo_data.DEMO_OWNERS if name in staff]
    # Numbers above every existing id: emails and external IDs stay unique across --append runs.
    last_id = Customer.objects.using(using).aggregate(m=Max("pk"))["m"] or 0
    return SeedContext(
        seed=seed,
        now=now,
        first_seq=last_id + 1,
        staff=staff,
        owner_ids=[pk for pk, _ in owners],
        owner_cum_weights=cumulative(w for _, w in owners),
        tags=tags,
    )


class CustomerSeedExtension(Protocol):
    """What an app above customers adds to each seeded customer, in its own tables."""

    def customer_made(self, customer: Row, *, index: int, seq: int) -> None:
        """Called once per customer before its tags and notes are drawn; may move ``last_activity_at``."""

    def chunk_write(self, writer: TableWriter) -> dict[str, int]:
        """Write what the chunk's customers gathered (after the customers); return counts to add to the totals."""


# Precomputed cumulative weights for the weighted word lists.
_FAMILY_CUM = cumulative(w for *_, w in person_names.FAMILY_NAMES)
_PREFECTURE_CUM = cumulative(w for _, w, _ in places.PREFECTURES)
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
    prefecture, _w, cities = pick(r, places.PREFECTURES, _PREFECTURE_CUM)
    city, postal_prefix, towns = r.choice(cities)
    row.postal_code = f"{postal_prefix}-{between(r, 0, 9999):04d}"
    row.region = prefecture
    row.city = city
    row.address_line1 = f"{r.choice(towns)}{between(r, 1, 5)}-{between(r, 1, 30)}-{between(r, 1, 20)}"
    if r.random() < 0.4:
        row.address_line2 = f"{r.choice(places.BUILDINGS)} {between(r, 1, 12)}{between(r, 1, 12):02d}号室"


def _abroad_address(r: random.Random, row: Row) -> None:
    country, region, city, postal = r.choice(places.WESTERN_ADDRESSES)
    row.postal_code = postal.format(between(r, 1, 99) if "{:02d}" in postal else between(r, 1, 9))
    row.region = region
    row.city = city
    row.address_line1 = f"{between(r, 1, 2500)} {r.choice(places.WESTERN_STREETS)}"
    if r.random() < 0.3:
        row.address_line2 = f"Apt {between(r, 1, 40)}"
    row.country = country
    if country in places.NANP_AREA_CODES and r.random() < 0.8:  # 555-0100..0199 are reserved as fictional
        row.phone = f"+1{r.choice(places.NANP_AREA_CODES[country])}5550{between(r, 100, 199)}"


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
        given, family = r.choice(person_names.WESTERN_GIVEN_NAMES), r.choice(person_names.WESTERN_FAMILY_NAMES)
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
        family, family_kana, family_romaji, _w = pick(r, person_names.FAMILY_NAMES, _FAMILY_CUM)
        names = person_names.GIVEN_NAMES_FEMALE if r.random() < 0.52 else person_names.GIVEN_NAMES_MALE
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
    row.secondary_email = row.secondary_phone = ""
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


def seed_customers(
    *,
    ctx: SeedContext,
    count: int,
    writer: TableWriter,
    progress=None,
    chunk_size: int = CHUNK_SIZE,
    extensions: Sequence[CustomerSeedExtension] = (),
) -> dict[str, int]:
    """Generate and write ``count`` customers with their tags and notes, chunk by chunk, each extension adding
    its rows to every customer (the journeys)."""
    customers_rng = rng(ctx.seed, "customers", ctx.first_seq)
    tags_rng = rng(ctx.seed, "tags", ctx.first_seq)
    notes_rng = rng(ctx.seed, "notes", ctx.first_seq)
    first_id = writer.reserve_ids(Customer, count)
    totals = {"customers": 0, "tags": 0, "notes": 0}
    for start in range(0, count, chunk_size):
        customers, links, notes = [], [], []
        for i in range(start, min(start + chunk_size, count)):
            seq = ctx.first_seq + i
            customer = customer_make(customers_rng, ctx, seq, (i, count))
            customer.id = first_id + i
            for extension in extensions:
                extension.customer_made(customer, index=i, seq=seq)
            customers.append(customer)
            links.extend(
                Row(customer_id=customer.id, tag_id=tag_id) for tag_id in customer_tags_make(tags_rng, ctx, customer)
            )
            notes.extend(customer_notes_make(notes_rng, ctx, customer))
        # Each customer's activity row first, at their last activity: the trigger that gives every new customer
        # one (at their creation) then leaves it be. The foreign key is checked at commit.
        writer.write_tuples(
            CustomerActivity, ["customer_id", "last_activity_at"], [(c.id, c.last_activity_at) for c in customers]
        )
        writer.write(Customer, customers)
        writer.write(Customer.tags.through, links)
        writer.write(Note, notes)
        for extension in extensions:
            for key, added in extension.chunk_write(writer).items():
                totals[key] = totals.get(key, 0) + added
        totals["customers"] += len(customers)
        totals["tags"] += len(links)
        totals["notes"] += len(notes)
        if progress:
            progress(totals)
    return totals
