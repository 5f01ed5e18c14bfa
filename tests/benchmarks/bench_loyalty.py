"""Loyalty: today's birthdays, the daily milestone job, the nightly tier review, redemptions, the customer panel.

Targets (at 1,000,000 customers, every one a member): the birthday query < 30 ms; the milestone job schedules
the day's greetings < 2 s; the nightly tier review < 5 min (here with every member above the first tier due
on the same night, the worst case); a redemption p95 < 30 ms; the membership panel adds a constant number of
queries to the customer page, however long the member's history.

The section seeds its own data once (``loyalty_seed``): a programme with three tiers and a reward, a membership
per customer (70% Regular, 25% Silver, 5% Gold, joined when the customer was created, reviews spread over the
year) and a purchase lot each, all in set-based SQL. Every measurement that writes runs in a transaction that
is rolled back, so the benchmark database is left as it was.
"""

from __future__ import annotations

import statistics
import time

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from customers.models import Customer
from loyalty import services
from loyalty.models import Membership, Programme, Reward, Tier
from tests.benchmarks.harness import Check, Context, Measurement, benchmark, floor_target, percentile, target

BIRTHDAY_MS = 30
MILESTONES_S = 2
TIER_REVIEW_S = 5 * 60
REDEEM_P95_MS = 30
REDEMPTIONS = 200
PROGRAMME = "Bench Club"


class Rollback(Exception):
    pass


def loyalty_seed(log=print) -> Programme:
    """The section's data, made once per benchmark database (set-based SQL: about a minute for a million)."""
    programme = Programme.objects.filter(name=PROGRAMME).first()
    if programme is not None and Membership.objects.filter(programme=programme).exists():
        return programme
    started = time.monotonic()
    log("  loyalty: seeding a membership and a purchase lot per customer…")
    with transaction.atomic():
        programme = Programme.objects.create(
            name=PROGRAMME, earn_rate="0.01", points_lifetime_months=12, birthday_bonus=100, anniversary_bonus=50
        )
        tiers = [
            Tier.objects.create(programme=programme, name=name, position=i, threshold=threshold, multiplier=mult)
            for i, (name, threshold, mult) in enumerate(
                [("Regular", 0, "1.00"), ("Silver", 1000, "1.50"), ("Gold", 5000, "2.00")], start=1
            )
        ]
        Reward.objects.create(programme=programme, name="Coffee", points_cost=100)
        with connection.cursor() as cursor:
            # Bench rows only, consistent by construction: no history rows (the memberships' row-level pghistory
            # triggers) and no foreign-key triggers, which made a million members take more than half an hour.
            cursor.execute("SET LOCAL session_replication_role = replica")
            cursor.execute(
                """
                INSERT INTO loyalty_membership (customer_id, programme_id, member_number, referral_code, tier_id,
                    tier_since, tier_review_on, status, joined_at, joined_on, balance, lifetime_points, purchase_count,
                    created_at, updated_at)
                SELECT c.id, %(programme)s, lpad(c.id::text, 10, '0'), 'B' || c.id::text,
                    CASE WHEN r.k < 5 THEN %(gold)s WHEN r.k < 30 THEN %(silver)s ELSE %(regular)s END,
                    c.created_at,
                    CASE WHEN r.k < 30 THEN current_date + (c.id %% 365)::int END,
                    'active', c.created_at, (c.created_at AT TIME ZONE %(zone)s)::date,
                    r.points, r.points, 1, now(), now()
                FROM customers_customer c,
                LATERAL (SELECT abs(hashtext(c.id::text)) %% 100 AS k) k0,
                LATERAL (SELECT k0.k AS k, CASE WHEN k0.k < 5 THEN 5000 + c.id %% 5000
                                               WHEN k0.k < 30 THEN 1000 + c.id %% 4000
                                               ELSE c.id %% 1000 END AS points) r
                """,
                {
                    "programme": programme.pk,
                    "regular": tiers[0].pk,
                    "silver": tiers[1].pk,
                    "gold": tiers[2].pk,
                    "zone": timezone.get_current_timezone_name(),
                },
            )
            cursor.execute(
                """
                INSERT INTO loyalty_ledgerentry (membership_id, kind, points, reason, source, source_ref,
                    order_reference, key, expires_on, remaining, allocations, created_at, reason_key, reason_params)
                SELECT m.id, 'earn', m.balance, 'Purchase', 'purchase', '', '', 'bench:' || m.id,
                    current_date + (m.id %% 360)::int, m.balance, '{}'::jsonb,
                    now() - make_interval(days => (m.id %% 300)::int), '', '{}'::jsonb
                FROM loyalty_membership m WHERE m.programme_id = %s
                """,
                [programme.pk],
            )
            cursor.execute(
                """
                INSERT INTO loyalty_loyaltyaccount (customer_id, memberships, created_at)
                SELECT customer_id, 1, joined_at FROM loyalty_membership WHERE programme_id = %s
                ON CONFLICT DO NOTHING
                """,
                [programme.pk],
            )
    with connection.cursor() as cursor:
        for table in ("loyalty_membership", "loyalty_ledgerentry", "loyalty_loyaltyaccount"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    log(f"  loyalty: seeded in {time.monotonic() - started:.0f}s")
    return programme


def _rolled_back(func):
    """Run ``func()`` in a transaction that is rolled back; return what it returned."""
    result = None
    try:
        with transaction.atomic():
            result = func()
            raise Rollback
    except Rollback:
        pass
    return result


@benchmark("loyalty")
def birthdays_query(ctx: Context) -> list[Measurement]:
    loyalty_seed()
    today = services.local_today()
    sql, params = services.birthday_memberships(today).query.get_compiler(using="default").as_sql()
    ms = ctx.time_sql(sql, params)
    found = len(list(services.birthday_memberships(today)))
    m = Measurement(name=f"today's birthdays query ({found:,} members)", value=ms, unit="ms", sql=sql)
    return [m.check(target(f"< {BIRTHDAY_MS} ms", ms, lambda v: v < BIRTHDAY_MS))]


@benchmark("loyalty")
def milestones_job(ctx: Context) -> list[Measurement]:
    loyalty_seed()
    today = services.local_today()
    samples, counts = [], {}
    for _ in range(3):

        def run():
            started = time.perf_counter()
            with connection.cursor() as cursor:  # check the foreign keys now, as the commit would
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            result = services.milestones_schedule(today=today)
            return time.perf_counter() - started, result

        elapsed, counts = _rolled_back(run)
        samples.append(elapsed)
    seconds = statistics.median(samples)
    m = Measurement(
        name=f"daily milestone job ({counts.get('birthdays', 0):,} birthdays, "
        f"{counts.get('anniversaries', 0):,} anniversaries)",
        value=seconds,
        unit="s",
    )
    return [m.check(target(f"< {MILESTONES_S} s", seconds, lambda v: v < MILESTONES_S))]


@benchmark("loyalty")
def tier_review(ctx: Context) -> list[Measurement]:
    """Every member above the first tier due on the same night (the worst case: a programme's first review)."""
    loyalty_seed()
    today = services.local_today()

    def run():
        due = Membership.objects.filter(tier_review_on__isnull=False).update(tier_review_on=today)
        started = time.perf_counter()
        stats = services.tiers_review(today=today)
        return due, time.perf_counter() - started, stats

    due, seconds, stats = _rolled_back(run)
    summary = ", ".join(f"{k} {v:,}" for k, v in sorted(stats.items()))
    m = Measurement(name=f"nightly tier review, {due:,} due ({summary})", value=seconds, unit="s")
    return [m.check(target(f"< {TIER_REVIEW_S // 60} min", seconds, lambda v: v < TIER_REVIEW_S))]


@benchmark("loyalty")
def redemption(ctx: Context) -> list[Measurement]:
    """``points_redeem`` for 200 members drawn across the table (each in a savepoint; all rolled back)."""
    programme = loyalty_seed()
    reward = Reward.objects.get(programme=programme, name="Coffee")
    ids = list(
        Membership.objects.filter(programme=programme, balance__gte=reward.points_cost)
        .order_by("pk")
        .values_list("pk", flat=True)[:: max(1, ctx.customers // REDEMPTIONS)][:REDEMPTIONS]
    )
    members = list(Membership.objects.filter(pk__in=ids))

    def run():
        samples = []
        for i, member in enumerate(members):
            started = time.perf_counter()
            with transaction.atomic():
                services.points_redeem(membership=member, reward=reward, key=f"bench-{i}")
            samples.append((time.perf_counter() - started) * 1000)
        return samples

    samples = _rolled_back(run)[10:]  # the first ones warm the caches
    m = Measurement(
        name=f"redemption ({len(samples)} members)",
        median_ms=statistics.median(samples),
        p95_ms=percentile(samples, 95),
    )
    return [m.check(target(f"p95 < {REDEEM_P95_MS} ms", m.p95_ms, lambda v: v < REDEEM_P95_MS))]


def _page_queries(ctx: Context, customer: Customer) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as captured:
        response = ctx.client.get(customer.get_absolute_url())
    assert response.status_code == 200
    loyalty = sum(1 for q in captured.captured_queries if "loyalty_" in q["sql"])
    return len(captured.captured_queries), loyalty


@benchmark("loyalty")
def customer_panel(ctx: Context) -> list[Measurement]:
    """Queries of the customer page: a member with one entry, the same member with 200 more, a non-member."""
    programme = loyalty_seed()
    member = Membership.objects.filter(programme=programme).order_by("pk")[ctx.customers // 2]
    customer = Customer.objects.get(pk=member.customer_id)
    page = ctx.time_page("customer page of a member", customer.get_absolute_url())

    def run():
        few = _page_queries(ctx, customer)
        for i in range(200):
            services.points_adjust(membership=member, points=1, reason="bench", key=f"bench-panel-{i}")
        many = _page_queries(ctx, customer)
        outsider = Customer.objects.create(family_name="Bench", given_name="Outsider")
        none = _page_queries(ctx, outsider)
        return few, many, none

    few, many, none = _rolled_back(run)
    added = few[0] - none[0]
    m = Measurement(
        name=f"customer page queries: member {few[0]} ({few[1]} loyalty), after 200 more entries {many[0]}, "
        f"non-member {none[0]}",
        value=added,
        unit="queries added by loyalty",
    )
    m.check(Check(target="constant however long the history", passed=few == many))
    return [page, m]


MEMBERS_P95_MS = 40


@benchmark("loyalty")
def member_search(ctx: Context) -> list[Measurement]:
    """The members list (a member per customer), found by the number on a card and by a name."""
    from urllib.parse import urlencode

    from django.urls import reverse

    programme = loyalty_seed()
    member = Membership.objects.filter(programme=programme).order_by("pk")[ctx.customers // 3]
    url = reverse("loyalty:members")
    results = []
    for label, q in (("member number", member.member_number), ("a name (佐藤)", "佐藤")):
        m = ctx.time_page(
            f"members list: search by {label}",
            f"{url}?{urlencode({'q': q})}",
            main_query=lambda sql: 'FROM "loyalty_membership"' in sql and "LIMIT" in sql and "COUNT(" not in sql,
        )
        m.check(target(f"p95 < {MEMBERS_P95_MS} ms", m.p95_ms, lambda v: v < MEMBERS_P95_MS), floor_target(m, 1.5))
        results.append(m)
    return results
