"""The member card and the till: the card page with a long history, and the till's lookup by a scanned token.

Targets (at 1,000,000 members): the card page p95 < 30 ms with 1,000 ledger entries; the till lookup by token
p95 < 20 ms. The section seeds an issued card per member (set-based SQL, once), on top of the loyalty section's
memberships; the 1,000 entries are written in a transaction that is rolled back.

``BENCH_CARD_MEMBERS=1000000`` times the till lookup among that many cards without seeding a million customers: the
benchmark database's customers join further programmes ("Bench cards 2", 3, …), set-based, until there are that many
memberships with an issued card (kept in the benchmark database: about 3 minutes for 900,000 on 2 cores).
"""

from __future__ import annotations

import os
import statistics
import time

from django.db import connection, transaction
from django.test import Client
from django.urls import reverse

from loyalty.models import MemberCard, Membership, Programme, Reward
from loyalty.services import cards
from tests.benchmarks.bench_loyalty import Rollback, loyalty_seed
from tests.benchmarks.harness import Context, Measurement, benchmark, percentile, target

CARD_P95_MS = 30
TILL_P95_MS = 20
ENTRIES = 1_000


def cards_seed(programme, log=print) -> None:
    """An issued card per member (hashes of tokens nobody holds: the index is as large as a real one)."""
    if MemberCard.objects.filter(membership__programme=programme).exists():
        return
    started = time.monotonic()
    with transaction.atomic(), connection.cursor() as cursor:
        cards_seed_sql(cursor, programme.pk)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE loyalty_membercard")
    log(f"  member cards: seeded in {time.monotonic() - started:.0f}s")


def cards_top_up(total: int, log=print) -> None:
    """At least ``total`` issued cards: the customers join extra programmes, each membership with a card."""
    missing = total - MemberCard.objects.count()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM customers_customer")
        customers = cursor.fetchone()[0]
    k = 1
    while missing > 0 and customers:
        k += 1
        programme, _created = Programme.objects.get_or_create(name=f"Bench cards {k}")
        if Membership.objects.filter(programme=programme).exists():
            continue
        started = time.monotonic()
        with transaction.atomic(), connection.cursor() as cursor:
            # Bench rows only: no history rows (pghistory's triggers) and no foreign key triggers, both of which
            # made this take ten minutes per 100,000 on a loaded machine; the rows are consistent by construction.
            cursor.execute("SET LOCAL session_replication_role = replica")
            cursor.execute(
                """
                INSERT INTO loyalty_membership (customer_id, programme_id, member_number, referral_code, status,
                    joined_at, joined_on, balance, lifetime_points, purchase_count, created_at, updated_at)
                SELECT c.id, %(programme)s, 'K' || %(k)s || lpad(c.id::text, 10, '0'), 'K' || %(k)s || '-' || c.id,
                    'active', c.created_at, c.created_at::date, c.id %% 1000, c.id %% 1000, 0, now(), now()
                FROM customers_customer c ORDER BY c.id LIMIT %(n)s
                """,
                {"programme": programme.pk, "k": k, "n": missing},
            )
            cards_seed_sql(cursor, programme.pk)
        missing -= min(missing, customers)
        log(f"  member cards: programme {k} seeded, {missing:,} more to go ({time.monotonic() - started:.0f}s)")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE loyalty_membercard")
        cursor.execute("VACUUM ANALYZE loyalty_membership")


def cards_seed_sql(cursor, programme_id: int) -> None:
    cursor.execute(
        """
        INSERT INTO loyalty_membercard (membership_id, token_hash, salt, issued_at)
        SELECT m.id, encode(sha256(('bench-card:' || m.id)::bytea), 'hex'), 'bench' || m.id, now()
        FROM loyalty_membership m WHERE m.programme_id = %s
        """,
        [programme_id],
    )


def _rolled_back(func):
    result = None
    try:
        with transaction.atomic():
            result = func()
            raise Rollback
    except Rollback:
        pass
    return result


def _member(ctx: Context, programme, share: int) -> Membership:
    return (
        Membership.objects.filter(programme=programme)
        .select_related("customer", "programme")
        .order_by("pk")[ctx.customers // share]
    )


@benchmark("member_card")
def card_page(ctx: Context) -> list[Measurement]:
    """GET /m/card/ of a member with 1,000 ledger entries (lots expiring over two years), in their session."""
    programme = loyalty_seed()
    cards_seed(programme)
    member = _member(ctx, programme, 4)
    Reward.objects.get_or_create(programme=programme, name="Tote bag", defaults={"points_cost": 5000})

    def run():
        with connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO loyalty_ledgerentry (membership_id, kind, points, reason, source, source_ref,
                    order_reference, key, expires_on, remaining, allocations, created_at, reason_key, reason_params)
                SELECT %s, 'earn', 10, 'Purchase', 'purchase', '', '', 'bench-card:' || i,
                    current_date + (i %% 700)::int - 300, 10, '{}'::jsonb, now() - make_interval(hours => i),
                    '', '{}'::jsonb
                FROM generate_series(1, %s) i
                """,
                [member.pk, ENTRIES],
            )
        Membership.objects.filter(pk=member.pk).update(balance=member.balance + 10 * ENTRIES)
        phone = Client()
        card = cards.card_reissue(membership=member)
        link = cards.card_link(card)
        assert phone.get("/" + link.split("/", 3)[3]).status_code == 302
        saved, ctx.client = ctx.client, phone
        try:
            return ctx.time_page(f"member card page ({ENTRIES:,} ledger entries)", reverse("member:card"))
        finally:
            ctx.client = saved

    m = _rolled_back(run)
    return [m.check(target(f"p95 < {CARD_P95_MS} ms", m.p95_ms, lambda v: v < CARD_P95_MS))]


@benchmark("member_card")
def till_lookup(ctx: Context) -> list[Measurement]:
    """POST /loyalty/till/ with a scanned token (the find and the redirect to the member's screen)."""
    programme = loyalty_seed()
    cards_seed(programme)
    if os.environ.get("BENCH_CARD_MEMBERS"):
        cards_top_up(int(os.environ["BENCH_CARD_MEMBERS"]))
    member = _member(ctx, programme, 3)
    url = reverse("loyalty:till")

    def run():
        token = cards.card_token(cards.card_reissue(membership=member))
        samples = []
        for i in range(ctx.warmup + ctx.repeats):
            started = time.perf_counter()
            response = ctx.client.post(url, {"q": token})
            elapsed = (time.perf_counter() - started) * 1000
            assert response.status_code == 302, response.status_code
            if i >= ctx.warmup:
                samples.append(elapsed)
        sql_ms = ctx.time_sql(
            "SELECT id FROM loyalty_membercard WHERE token_hash = %s", [cards._hash(token)], repeats=20, warmup=2
        )
        return samples, sql_ms

    samples, sql_ms = _rolled_back(run)
    m = Measurement(
        name=f"till lookup by scanned token ({MemberCard.objects.count():,} cards)",
        median_ms=statistics.median(samples),
        p95_ms=percentile(samples, 95),
        raw_sql_ms=sql_ms,
    )
    return [m.check(target(f"p95 < {TILL_P95_MS} ms", m.p95_ms, lambda v: v < TILL_P95_MS))]
