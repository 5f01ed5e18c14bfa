"""``manage.py seed_demo``: a realistic, deterministic demo database.

    manage.py seed_demo [--customers 300] [--seed 42] [--today YYYY-MM-DD] [--append] [--staff-only]
                        [--no-journeys] [--long-history N]

Creates the demo staff (``manager``, ``support``, ``marketing`` and two more owners, in their role
groups, plus the superuser ``admin``; all with the password ``tsunagu-demo``), ten tags, and N
customers — about 80% Japanese (kanji names with katakana readings, addresses by prefecture, 090/080
mobiles) and 20% English-speaking — with sources, owners, tags, consent with its proof, birth dates,
activity dates over the last three years and a few notes; and each customer's journey: about ten
touchpoints on average (a long tail: a few have a hundred), most customers stalling before decision,
purchases in yen with some returns, the stage transitions and the journey row exactly as
``touchpoint_record`` would have left them, and the customer's ``last_activity_at`` at their newest
touchpoint. ``--long-history N`` gives the first new customer N
touchpoints (the benchmarks' timeline customer).

The same N, seed and ``--today`` give the same data: every kind of data draws from its own
``random.Random`` stream (``rng(seed, kind)``). Each app seeds its own tables: the customers, staff
and tags by ``customers.seeding``, the journeys by ``touchpoints.seeding``, which plugs into the
customers' chunks; this command only composes them, here because touchpoints may import customers.
Rows go through ``TableWriter``: PostgreSQL COPY, ``bulk_create`` elsewhere (SQLite); a big run on
PostgreSQL loads as pg_restore does (``BulkLoad``).

Staff are created once and left alone on later runs, so the command is safe to re-run; customers are
refused when some exist already, unless ``--append`` is given.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils import timezone

from customers.models import Customer
from customers.seeding import customers as customers_seeding
from customers.seeding.customers import CHUNK_SIZE, seed_context_make, seed_customers, staff_ensure, tags_ensure
from customers.seeding.tables import BulkLoad, TableWriter
from touchpoints.seeding import journeys as journeys_seeding
from touchpoints.seeding.journeys import JourneyCatalogue, JourneySeeder

# Above this many customers in one run, PostgreSQL loads as pg_restore does (see BulkLoad).
REBUILD_INDEXES_ABOVE = 50_000


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
            "--demo-logins",
            action="store_true",
            help="Create the demo logins (public password) although DEBUG is off: only on a database of demo data.",
        )
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
        if not (settings.DEBUG or options["demo_logins"]):
            # The demo staff, a superuser among them, log in with a password printed in the README.
            raise CommandError(
                "seed_demo creates staff logins with the public password 'tsunagu-demo' (a superuser among them). "
                "It runs with DJANGO_DEBUG=true (the demo), or with --demo-logins on a database of demo data."
            )
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
            ctx = seed_context_make(seed=options["seed"], now=now, staff=staff, tags=tags, using=using)
            connection = connections[using]
            tables = list(customers_seeding.TABLES)
            extensions = []
            catalogue = None if options["no_journeys"] else JourneyCatalogue.load(using)
            if catalogue is not None:
                tables += journeys_seeding.TABLES
                extensions.append(JourneySeeder(ctx=ctx, catalogue=catalogue, long_history=options["long_history"]))
            elif not options["no_journeys"]:
                self.stdout.write(self.style.WARNING("No touchpoint catalogue (run migrate): customers only."))
            rebuild = writer.copy and count > REBUILD_INDEXES_ABOVE
            with BulkLoad(connection, tables) if rebuild else contextlib.nullcontext() as load:
                totals = seed_customers(
                    ctx=ctx,
                    count=count,
                    writer=writer,
                    progress=self._progress(count, started),
                    extensions=extensions,
                )
            totals = {"touchpoints": 0, "transitions": 0, **totals}  # --no-journeys still reports none
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
                touchpoints = f", {totals['touchpoints']:,} touchpoints" if totals.get("touchpoints") else ""
                self.stdout.write(f"  {done:,} / {count:,} customers{touchpoints} ({rate:,.0f} customers/s)")

        return report

    def _print_logins(self, logins: list[str]) -> None:
        self.stdout.write("Demo logins (demo data only):")
        for line in logins:
            self.stdout.write(line)
