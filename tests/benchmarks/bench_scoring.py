"""Insights: the nightly RFM scoring (crm/insights/scoring.py) and "who to contact this week", over the seeded
touchpoints.

Targets: the nightly scoring of every buying customer < 5 minutes at 1,000,000 customers / 10,000,000 touchpoints;
the contact list (first page, a segment, "mine", a deep page) p95 < 40 ms with the same queries on every page; the
score panel adds no query to the customer page.

The first run over a database without scores is the committed one (every row inserted: the worst case) and is
what later measurements read; when scores exist already, the measured run is the next night's (every row updated,
recency having moved by a day) in a transaction that is rolled back, so the database is left as it was.
"""

from __future__ import annotations

import datetime as dt
import time

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from crm.insights.models import CustomerScore
from crm.insights.scoring import scores_refresh
from customers.models import Customer
from customers.pagination import _encode as encode_cursor
from tests.benchmarks.harness import Check, Context, Measurement, benchmark, floor_target, target

SCORING_S = 5 * 60
LIST_P95_MS = 40
LIST_QUERIES = 8
FLOOR_RATIO = 1.5  # within 1.5x of a bare Django view showing the same rows


class Rollback(Exception):
    pass


@benchmark("insights")
def nightly_scoring(ctx: Context) -> list[Measurement]:
    first = not CustomerScore.objects.exists()
    if first:
        started = time.perf_counter()
        result = scores_refresh()
        seconds = time.perf_counter() - started
        label = "first run, every row inserted"
    else:
        result, seconds = None, None
        try:
            with transaction.atomic():
                started = time.perf_counter()
                result = scores_refresh(now=timezone.now() + dt.timedelta(days=1))
                seconds = time.perf_counter() - started
                raise Rollback
        except Rollback:
            pass
        label = "next night, every row updated, rolled back"
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE crm_customerscore")
    m = Measurement(
        name=f"nightly RFM scoring ({label}): {result.scored:,} customers scored, {result.written:,} rows written",
        value=seconds,
        unit="s",
    )
    return [m.check(target(f"< {SCORING_S} s", seconds, lambda v: v < SCORING_S))]


def _is_list_query(sql: str) -> bool:
    return "crm_customerscore" in sql and "LIMIT" in sql and "COUNT(" not in sql


@benchmark("insights")
def contact_list(ctx: Context) -> list[Measurement]:
    url = reverse("insights_scoring:contact_list")
    results = [
        ctx.time_page("contact list: first page", url, main_query=_is_list_query),
        ctx.time_page("contact list: segment can't lose", url + "?segment=cant_lose", main_query=_is_list_query),
        ctx.time_page(
            "contact list: segment champions (R dropped)", url + "?segment=champions", main_query=_is_list_query
        ),
        ctx.time_page("contact list: my customers", url + "?owner=mine", main_query=_is_list_query),
    ]
    from crm.insights.scoring import contact_queryset

    deep = contact_queryset().order_by("-monetary", "-customer")[ctx.customers // 20 : ctx.customers // 20 + 1].first()
    if deep is not None:
        cursor = encode_cursor(str(deep.monetary), deep.customer_id)
        results.append(ctx.time_page("contact list: a deep page", f"{url}?after={cursor}", main_query=_is_list_query))
    for m in results:
        m.check(
            target(f"p95 < {LIST_P95_MS} ms", m.p95_ms, lambda v: v < LIST_P95_MS),
            target(f"<= {LIST_QUERIES} queries", m.queries, lambda v: v <= LIST_QUERIES),
            floor_target(m, FLOOR_RATIO),
        )
    counts = {m.queries for m in results}
    results[0].check(Check(target="same queries on every page", passed=len(counts) == 1))
    return results


@benchmark("insights")
def score_panel(ctx: Context) -> list[Measurement]:
    scored = Customer.objects.filter(pk=CustomerScore.objects.order_by("customer").values("customer")[:1]).first()
    unscored = Customer.objects.exclude(pk__in=CustomerScore.objects.values("customer")).order_by("pk").first()
    if scored is None or unscored is None:
        return [Measurement(name="score panel: no scored and unscored customer to compare", value=None)]

    def queries(customer: Customer) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert ctx.client.get(customer.get_absolute_url()).status_code == 200
        return len(captured.captured_queries)

    queries(scored)
    with_score, without = queries(scored), queries(unscored)
    m = Measurement(
        name=f"customer page queries: scored {with_score}, not scored {without}",
        value=with_score - without,
        unit="queries added by the score panel",
    )
    return [m.check(Check(target="no query added", passed=with_score == without))]
