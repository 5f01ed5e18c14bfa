"""``manage.py seed_demo``: a realistic, deterministic demo database.

    manage.py seed_demo [--customers 300] [--seed 42] [--today YYYY-MM-DD] [--append] [--staff-only]

Creates the demo staff (``manager``, ``support``, ``marketing`` and two more owners, in their role
groups, plus the superuser ``admin``; all with the password ``tsunagu-demo``), ten tags, and N
customers — about 80% Japanese (kanji names with katakana readings, addresses by prefecture, 090/080
mobiles) and 20% English-speaking — with sources, owners, tags, consent with its proof, birth dates,
activity dates over the last three years and a few notes.

The same N, seed and ``--today`` give the same data: every kind of data draws from its own
``random.Random`` stream (``rng(seed, kind)``), so a later kind (touchpoints, loyalty, tickets) adds
a stream of its own and leaves the customers it builds on unchanged. Each kind is one small
``<kind>_make`` function; ``seed_customers`` writes them chunk by chunk through ``TableWriter``:
PostgreSQL COPY, ``bulk_create`` elsewhere (SQLite). On PostgreSQL a big run loads as pg_restore does
(``BulkLoad``): 100,000 customers take about 10 s and a million about 2 minutes on a small machine,
half of it building the trigram search index.

Staff are created once and left alone on later runs, so the command is safe to re-run; customers are
refused when some exist already, unless ``--append`` is given.
"""

from __future__ import annotations

import bisect
import contextlib
import datetime as dt
import itertools
import operator
import random
import time
import types
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections, models, transaction
from django.db.models import Max
from django.utils import timezone

from customers import demo_data
from customers.models import Customer, Note, Tag

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
            objs = [model(**vars(row)) for row in rows]
            model._base_manager.using(self.using).bulk_create(objs, batch_size=self.batch_size)
            return
        quote = self.connection.ops.quote_name
        columns = ", ".join(quote(f.column) for f in fields)
        values = operator.attrgetter(*(f.attname for f in fields))
        sql = f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN"
        with self.connection.cursor() as cursor, cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(values(row))


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
    *, ctx: SeedContext, count: int, writer: TableWriter, progress=None, chunk_size: int = CHUNK_SIZE
) -> dict[str, int]:
    """Generate and write ``count`` customers with their tags and notes, chunk by chunk."""
    customers_rng = rng(ctx.seed, "customers", ctx.first_seq)
    tags_rng = rng(ctx.seed, "tags", ctx.first_seq)
    notes_rng = rng(ctx.seed, "notes", ctx.first_seq)
    first_id = writer.reserve_ids(Customer, count)
    totals = {"customers": 0, "tags": 0, "notes": 0}
    for start in range(0, count, chunk_size):
        customers, links, notes = [], [], []
        for i in range(start, min(start + chunk_size, count)):
            customer = customer_make(customers_rng, ctx, ctx.first_seq + i, (i, count))
            customer.id = first_id + i
            customers.append(customer)
            links.extend(
                Row(customer_id=customer.id, tag_id=tag_id) for tag_id in customer_tags_make(tags_rng, ctx, customer)
            )
            notes.extend(customer_notes_make(notes_rng, ctx, customer))
        writer.write(Customer, customers)
        writer.write(Customer.tags.through, links)
        writer.write(Note, notes)
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

    def handle(self, *args, **options) -> None:
        count: int = options["customers"]
        if count < 0:
            raise CommandError("--customers must be zero or more.")
        using = DEFAULT_DB_ALIAS
        today = options["today"] or timezone.localdate()
        # The history ends at the start of ``today`` (local time): fixed for the day, never in the future.
        now = timezone.make_aware(dt.datetime.combine(today, dt.time.min))
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
            tables = [Customer._meta.db_table, Customer.tags.through._meta.db_table, Note._meta.db_table]
            rebuild = writer.copy and count > REBUILD_INDEXES_ABOVE
            with BulkLoad(connection, tables) if rebuild else contextlib.nullcontext() as load:
                totals = seed_customers(ctx=ctx, count=count, writer=writer, progress=self._progress(count, started))
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
                f"Created {totals['customers']:,} customers ({totals['tags']:,} tag links, {totals['notes']:,} notes) "
                f"in {elapsed:.1f}s."
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
                self.stdout.write(f"  {done:,} / {count:,} customers ({rate:,.0f}/s)")

        return report

    def _print_logins(self, logins: list[str]) -> None:
        self.stdout.write("Demo logins (demo data only):")
        for line in logins:
            self.stdout.write(line)
