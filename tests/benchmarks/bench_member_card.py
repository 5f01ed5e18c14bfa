"""The member card and the till: the card page with a long history, and the till's lookup by a scanned token.

Targets (at 1,000,000 members): the card page p95 < 30 ms with 1,000 ledger entries; the till lookup by token
p95 < 20 ms. The section seeds an issued card per member (set-based SQL, once), on top of the loyalty section's
memberships; the 1,000 entries are written in a transaction that is rolled back.
"""

from __future__ import annotations

import statistics
import time

from django.db import connection, transaction
from django.test import Client
from django.urls import reverse

from loyalty.models import MemberCard, Membership, Reward
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
        cursor.execute(
            """
            INSERT INTO loyalty_membercard (membership_id, token_hash, salt, issued_at)
            SELECT m.id, encode(sha256(('bench-card:' || m.id)::bytea), 'hex'), 'bench' || m.id, now()
            FROM loyalty_membership m WHERE m.programme_id = %s
            """,
            [programme.pk],
        )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE loyalty_membercard")
    log(f"  member cards: seeded in {time.monotonic() - started:.0f}s")


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
