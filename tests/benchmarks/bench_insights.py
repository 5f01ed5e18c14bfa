"""Insights: the dashboard figures, the cohorts, and the rollups behind them.

Targets (1,000,000 customers, ~10,000,000 touchpoints, 1,000,000 ledger entries, 200,000 tickets): the
dashboard's figures p95 < 50 ms in at most 10 queries (they read rollups, not events); the cohorts < 200 ms;
refreshing the rollups after a day's worth of new touchpoints (10,000) < 30 s.

The section first makes sure the loyalty and feedback sections' data is there (``loyalty_seed``,
``feedback_seed``), then rebuilds the rollups once (reported: that is what ``manage.py rollups_rebuild`` costs
and what the first periodic refresh does). For comparison, the main figures are also computed straight from
the events (active customers and revenue of the last 30 days). The refresh runs in a transaction that is rolled
back, with the day's touchpoints it had to pick up, so the benchmark database is left as it was.
"""

from __future__ import annotations

import statistics
import time

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from crm.insights import metrics, rollups
from crm.insights.models import RollupEdge
from tests.benchmarks.bench_feedback import feedback_seed
from tests.benchmarks.bench_loyalty import loyalty_seed
from tests.benchmarks.harness import Context, Measurement, benchmark, percentile, target

DASHBOARD_P95_MS = 50
DASHBOARD_QUERIES = 10
COHORTS_P95_MS = 200
REFRESH_DAY_S = 30
DAY_OF_TOUCHPOINTS = 10_000


class Rollback(Exception):
    pass


def _built(ctx: Context) -> None:
    if ctx.data.get("insights_built"):
        return
    loyalty_seed()
    feedback_seed()
    started = time.monotonic()
    result = rollups.rebuild()
    vacuumed = time.monotonic()
    rollups.vacuum()
    result.timings["vacuum"] = time.monotonic() - vacuumed
    ctx.data["insights_built"] = True
    ctx.data["insights_rebuild"] = (time.monotonic() - started, result)


@benchmark("insights")
def rollups_rebuild(ctx: Context) -> list[Measurement]:
    _built(ctx)
    seconds, result = ctx.data["insights_rebuild"]
    steps = ", ".join(f"{k} {v:.1f} s" for k, v in result.timings.items())
    edges = RollupEdge.objects.count()
    return [
        Measurement(
            name=f"rollups: rebuild from scratch ({result.customers:,} customers, {result.days:,} days, "
            f"{edges:,} edge rows)",
            value=seconds,
            unit="s",
            note=steps,
        )
    ]


def _time_dashboard(ctx: Context, name: str, period: metrics.Period, *, cached: bool = False) -> Measurement:
    samples = []
    for i in range(ctx.warmup + ctx.repeats):
        started = time.perf_counter()
        metrics.dashboard(period, sections=metrics.SECTIONS, cached=cached)
        if i >= ctx.warmup:
            samples.append((time.perf_counter() - started) * 1000)
    with CaptureQueriesContext(connection) as captured:
        metrics.dashboard(period, sections=metrics.SECTIONS, cached=cached)
    slowest = max(captured.captured_queries, key=lambda q: float(q["time"]))
    m = Measurement(
        name=name,
        median_ms=statistics.median(samples),
        p95_ms=percentile(samples, 95),
        queries=len(captured.captured_queries),
        slowest_sql=slowest["sql"][:300],
        slowest_sql_ms=float(slowest["time"]) * 1000,
    )
    return m.check(
        target(f"p95 < {DASHBOARD_P95_MS} ms", m.p95_ms, lambda v: v < DASHBOARD_P95_MS),
        target(f"<= {DASHBOARD_QUERIES} queries", m.queries, lambda v: v <= DASHBOARD_QUERIES),
    )


@benchmark("insights")
def dashboard(ctx: Context) -> list[Measurement]:
    _built(ctx)
    month, year = metrics.Period.last_days(30), metrics.Period.last_days(365)
    return [
        _time_dashboard(ctx, "dashboard figures: last 30 days, every section (not cached)", month),
        _time_dashboard(ctx, "dashboard figures: last 365 days, every section (not cached)", year),
        _time_dashboard(ctx, "dashboard figures: last 30 days, cached since the last refresh", month, cached=True),
    ]


@benchmark("insights")
def straight_from_the_events(ctx: Context) -> list[Measurement]:
    """What the rollups save: two of the figures computed from the raw tables instead."""
    _built(ctx)
    start, end = rollups.day_bounds(*_last_30())
    active = (
        "SELECT count(DISTINCT t.customer_id) FROM touchpoints_touchpoint t "  # noqa: S608
        f"WHERE t.occurred_at >= %s AND t.occurred_at < %s AND {rollups.ACTIVITY_SQL}"
    )
    revenue = (
        "SELECT sum(CASE WHEN y.kind = 'purchase' THEN t.amount ELSE -t.amount END) FROM touchpoints_touchpoint t "
        "JOIN touchpoints_touchpointtype y ON y.id = t.type_id "
        "WHERE t.occurred_at >= %s AND t.occurred_at < %s AND y.kind IN ('purchase', 'return') AND t.currency = 'JPY'"
    )
    found = []
    for name, sql in (("active customers", active), ("revenue", revenue)):
        ms = ctx.time_sql(sql, [start, end], repeats=3, warmup=1)
        found.append(
            Measurement(name=f"raw SQL, last 30 days: {name} from the touchpoints", value=ms / 1000, unit="s", sql=sql)
        )
    return found


def _last_30():
    period = metrics.Period.last_days(30)
    return period.start, period.end


@benchmark("insights")
def cohorts(ctx: Context) -> list[Measurement]:
    _built(ctx)
    samples = []
    for i in range(ctx.warmup + ctx.repeats):
        started = time.perf_counter()
        metrics.cohorts()
        if i >= ctx.warmup:
            samples.append((time.perf_counter() - started) * 1000)
    with CaptureQueriesContext(connection) as captured:
        metrics.cohorts()
    m = Measurement(
        name="cohorts: 12 monthly cohorts by first purchase",
        median_ms=statistics.median(samples),
        p95_ms=percentile(samples, 95),
        queries=len(captured.captured_queries),
    )
    return [m.check(target(f"p95 < {COHORTS_P95_MS} ms", m.p95_ms, lambda v: v < COHORTS_P95_MS))]


@benchmark("insights")
def refresh_one_day(ctx: Context) -> list[Measurement]:
    """A day's worth of touchpoints (one for every 100th customer, a third of them purchases), then a refresh."""
    _built(ctx)
    found: dict = {}
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT id, stage FROM touchpoints_touchpointtype WHERE slug IN ('research', 'transaction') "
                    "ORDER BY slug"
                )
                (research, research_stage), (purchase, purchase_stage) = cursor.fetchall()
                cursor.execute(
                    "INSERT INTO touchpoints_touchpoint (customer_id, type_id, stage, channel, direction, occurred_at,"
                    " summary, amount, currency, order_reference, campaign, utm_source, metadata, source,"
                    " idempotency_key, created_at)"
                    " SELECT id, CASE WHEN id %% 3 = 0 THEN %s ELSE %s END, CASE WHEN id %% 3 = 0 THEN %s ELSE %s END,"
                    " 'web', 'inbound', now() - (id %% 600) * interval '1 minute', 'bench',"
                    " CASE WHEN id %% 3 = 0 THEN 3000 END, 'JPY', '', '', '', '{}', 'api', '', now()"
                    " FROM customers_customer WHERE id %% 100 = 7 LIMIT %s",
                    [purchase, research, purchase_stage, research_stage, DAY_OF_TOUCHPOINTS],
                )
                found["inserted"] = cursor.rowcount
            started = time.perf_counter()
            result = rollups.refresh()
            found["seconds"] = time.perf_counter() - started
            found["result"] = result
            raise Rollback
    except Rollback:
        pass
    result = found["result"]
    steps = ", ".join(f"{k} {v:.1f} s" for k, v in result.timings.items())
    m = Measurement(
        name=f"rollups: refresh after a day of {found['inserted']:,} touchpoints ({result.customers:,} customers, "
        f"{result.days:,} daily rows)",
        value=found["seconds"],
        unit="s",
        note=steps,
    )
    return [m.check(target(f"< {REFRESH_DAY_S} s", found["seconds"], lambda v: v < REFRESH_DAY_S))]
