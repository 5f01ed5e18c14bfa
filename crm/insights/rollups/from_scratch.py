"""``rebuild()``: truncate and recompute every rollup from the raw tables (set-based SQL on PostgreSQL, the
per-customer code elsewhere), under the watermark lock."""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils import timezone

from feedback.models import ACTIVE_STATUSES, Ticket
from loyalty.models import LedgerEntry, Membership
from touchpoints.models import Touchpoint, TouchpointType

from ..models import (
    CohortCell,
    CustomerLapse,
    CustomerRollupState,
    DailyRollup,
    RollupDirty,
    RollupEdge,
    RollupWatermark,
    TicketResponse,
)
from .daily import _rebuild_days, _rebuild_responses_sql, refresh_responses, tier_distribution
from .definitions import (
    ACTIVITY,
    ACTIVITY_SQL,
    AFTER,
    BEFORE,
    LAPSE,
    LEDGER,
    LIVE_IN,
    LIVE_OUT,
    PURCHASE,
    SHORT,
    SHORT_SUFFIX,
    SINGLE_IN,
    SINGLE_OUT,
    YEAR,
    YEAR_KINDS,
    lapse_days,
)
from .states import _apply, _store_lapses, _store_states, compute_states, contributions

logger = logging.getLogger(__name__)

# --- Rebuild ---------------------------------------------------------------------------------------


@dataclass
class RunResult:
    rebuilt: bool = False
    customers: int = 0
    days: int = 0
    timings: dict[str, float] = field(default_factory=dict)


def _lock() -> RollupWatermark:
    """The single watermark row, locked until the end of the transaction: two runs never interleave."""
    RollupWatermark.objects.get_or_create(pk=1)
    return RollupWatermark.objects.select_for_update().get(pk=1)


def rebuild() -> RunResult:
    """Truncate and recompute every rollup from the raw tables."""
    with transaction.atomic():
        watermark = _lock()
        return _rebuild(watermark)


def _rebuild(watermark: RollupWatermark) -> RunResult:
    result = RunResult(rebuilt=True)
    now = timezone.now()
    lapse = lapse_days()
    started = time.monotonic()
    # DELETE, not TRUNCATE: the dashboard keeps reading the old rows until the rebuild commits.
    models = (DailyRollup, RollupEdge, CohortCell, CustomerRollupState, CustomerLapse, RollupDirty, TicketResponse)
    with connection.cursor() as cursor:
        for model in models:
            cursor.execute(f"DELETE FROM {model._meta.db_table}")  # noqa: S608
    if connection.vendor != "postgresql":
        refresh_responses(None)
    result.timings["delete"] = time.monotonic() - started
    started = time.monotonic()
    _rebuild_days(now)
    if connection.vendor == "postgresql":
        _rebuild_responses_sql()
    result.timings["days"] = time.monotonic() - started
    started = time.monotonic()
    if connection.vendor == "postgresql":
        result.customers = _rebuild_customers_sql(lapse)
    else:
        ids = set(Touchpoint.objects.values_list("customer_id", flat=True).distinct())
        ids |= set(Membership.objects.filter(entries__isnull=False).values_list("customer_id", flat=True).distinct())
        states = compute_states(ids)
        total: Counter = Counter()
        for state in states.values():
            total.update(contributions(state, lapse))
        _apply(total)
        _store_states({}, states)
        _store_lapses(dict(states), lapse)
        result.customers = len(states)
    result.timings["customers"] = time.monotonic() - started
    watermark.refreshed_at = watermark.rebuilt_at = now
    watermark.lapse_days = lapse
    watermark.tiers = tier_distribution()
    watermark.open_tickets = Ticket.objects.filter(status__in=ACTIVE_STATUSES).count()
    watermark.save()
    result.days = DailyRollup.objects.count()
    logger.info("rollups rebuilt customers=%s days=%s timings=%s", result.customers, result.days, result.timings)
    return result


def _rebuild_customers_sql(lapse: int) -> int:
    """Edges, lapses, cohorts and states of every customer, set-based (PostgreSQL)."""
    tz = timezone.get_current_timezone_name()
    tp, types = Touchpoint._meta.db_table, TouchpointType._meta.db_table
    ledger, members = LedgerEntry._meta.db_table, Membership._meta.db_table
    edge, cell, state = RollupEdge._meta.db_table, CohortCell._meta.db_table, CustomerRollupState._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS rb_act, rb_pur, rb_led")
        cursor.execute(
            f"CREATE TEMP TABLE rb_act ON COMMIT DROP AS SELECT DISTINCT t.customer_id AS c, "  # noqa: S608
            f"(t.occurred_at AT TIME ZONE %s)::date AS d FROM {tp} t WHERE {ACTIVITY_SQL}",
            [tz],
        )
        cursor.execute(
            f"CREATE TEMP TABLE rb_pur ON COMMIT DROP AS SELECT t.customer_id AS c, "  # noqa: S608
            f"(t.occurred_at AT TIME ZONE %s)::date AS d FROM {tp} t JOIN {types} y ON y.id = t.type_id "
            "WHERE y.kind = %s",
            [tz, TouchpointType.Kind.PURCHASE],
        )
        cursor.execute(
            f"CREATE TEMP TABLE rb_led ON COMMIT DROP AS SELECT DISTINCT m.customer_id AS c, "  # noqa: S608
            f"(e.created_at AT TIME ZONE %s)::date AS d FROM {ledger} e JOIN {members} m ON m.id = e.membership_id",
            [tz],
        )
        for table, kind in (("rb_act", ACTIVITY), ("rb_pur", PURCHASE), ("rb_led", LEDGER)):
            cursor.execute(
                f"INSERT INTO {edge} (kind, from_day, to_day, from_is_first, n) "  # noqa: S608
                "SELECT %s, f, t, first, count(*) FROM ("
                "SELECT COALESCE(lag(d) OVER w, %s::date) AS f, d AS t, (row_number() OVER w) = 2 AS first "
                f"FROM {table} WINDOW w AS (PARTITION BY c ORDER BY d) "
                f"UNION ALL SELECT max(d), %s::date, count(*) = 1 FROM {table} GROUP BY c"
                ") e GROUP BY f, t, first",
                [kind, BEFORE, AFTER],
            )
        cursor.execute(
            f"INSERT INTO {edge} (kind, from_day, to_day, from_is_first, n) "  # noqa: S608
            "SELECT %s, f, CASE WHEN t IS NULL THEN %s::date ELSE f + %s END AS lapsed, false, count(*) FROM ("
            "SELECT d AS f, lead(d) OVER (PARTITION BY c ORDER BY d) AS t FROM rb_act) e "
            "WHERE t IS NULL OR t - f > %s GROUP BY f, lapsed",
            [LAPSE, AFTER, lapse, lapse],
        )
        cursor.execute(
            f"INSERT INTO {CustomerLapse._meta.db_table} (customer_id, last_day) "  # noqa: S608
            "SELECT c, d FROM (SELECT c, d, lead(d) OVER (PARTITION BY c ORDER BY d) AS t FROM rb_act) e "
            "WHERE t IS NULL OR t - d > %s",
            [lapse],
        )
        cursor.execute(
            f"INSERT INTO {edge} (kind, from_day, to_day, from_is_first, n) "  # noqa: S608
            "SELECT kind || %s, CASE WHEN from_day = %s::date THEN from_day ELSE greatest(from_day, to_day - %s) END, "
            f"to_day, from_is_first, sum(n) FROM {edge} WHERE kind IN (%s, %s, %s) AND to_day <> %s::date "
            "GROUP BY 1, 2, 3, 4",
            [SHORT_SUFFIX, BEFORE, SHORT + 1, ACTIVITY, PURCHASE, LEDGER, AFTER],
        )
        cursor.execute(
            f"INSERT INTO {edge} (kind, from_day, to_day, from_is_first, n) "  # noqa: S608
            "SELECT kind, %s::date, day, false, sum(n) FROM ("
            f"SELECT %s AS kind, from_day + 1 AS day, n FROM {edge} WHERE kind = %s AND from_day <> %s::date "
            f"UNION ALL SELECT %s, least(to_day, from_day + %s) + 1, n FROM {edge} "
            "WHERE kind = %s AND from_day <> %s::date"
            ") x GROUP BY kind, day",
            [BEFORE, LIVE_IN, ACTIVITY, BEFORE, LIVE_OUT, lapse, ACTIVITY, BEFORE],
        )
        running = [(*YEAR_KINDS[kind], kind, "") for kind in (ACTIVITY, PURCHASE, LEDGER)]
        running.append((SINGLE_IN, SINGLE_OUT, PURCHASE, " AND from_is_first"))
        for plus, minus, kind, extra in running:
            cursor.execute(
                f"INSERT INTO {edge} (kind, from_day, to_day, from_is_first, n) "  # noqa: S608
                "SELECT kind, %s::date, day, false, sum(n) FROM ("
                f"SELECT %s AS kind, from_day AS day, n FROM {edge} "
                f"WHERE kind = %s AND from_day <> %s::date AND to_day > from_day{extra} "
                f"UNION ALL SELECT %s, least(to_day, from_day + %s), n FROM {edge} "
                f"WHERE kind = %s AND from_day <> %s::date AND to_day > from_day{extra}"
                ") x GROUP BY kind, day",
                [BEFORE, plus, kind, BEFORE, minus, YEAR, kind, BEFORE],
            )
        cursor.execute(
            f"INSERT INTO {cell} (cohort_month, month_offset, customers) "  # noqa: S608
            "SELECT first_m, ((extract(year FROM m) * 12 + extract(month FROM m)) "
            "- (extract(year FROM first_m) * 12 + extract(month FROM first_m)))::int, count(*) FROM ("
            "SELECT DISTINCT c, date_trunc('month', d)::date AS m, "
            "min(date_trunc('month', d)::date) OVER (PARTITION BY c) AS first_m FROM rb_pur) x GROUP BY 1, 2",
        )
        cursor.execute(
            f"INSERT INTO {state} (customer_id, activity_days, purchase_days, ledger_days) "  # noqa: S608
            "SELECT c, COALESCE(a.days, '[]'), COALESCE(p.days, '[]'), COALESCE(l.days, '[]') FROM "
            "(SELECT c, jsonb_agg(d - %s::date + 1 ORDER BY d) AS days FROM rb_act GROUP BY c) a "
            "FULL JOIN (SELECT c, jsonb_agg(d - %s::date + 1 ORDER BY d) AS days FROM rb_pur GROUP BY c) p USING (c) "
            "FULL JOIN (SELECT c, jsonb_agg(d - %s::date + 1 ORDER BY d) AS days FROM rb_led GROUP BY c) l USING (c)",
            [BEFORE, BEFORE, BEFORE],
        )
        count = cursor.rowcount
        cursor.execute("DROP TABLE IF EXISTS rb_act, rb_pur, rb_led")
        cursor.execute(f"ANALYZE {edge}")  # noqa: S608
    return count


def vacuum() -> None:
    """After a rebuild, outside its transaction: PostgreSQL's visibility map, for index-only scans."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return
    with connection.cursor() as cursor:
        for model in (DailyRollup, RollupEdge, CohortCell, TicketResponse):
            cursor.execute(f"VACUUM ANALYZE {model._meta.db_table}")  # noqa: S608
