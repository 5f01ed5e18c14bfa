"""The journey funnel for a date range, read from rollups kept in step with the stage transitions.

Definitions (a customer's stages only go forward automatically, and may skip: a first purchase takes a
newcomer straight to decision, "passing" awareness and consideration on the way). Days are days of the
business time zone.

- A transition **crosses** stage S when ``rank(from_stage) < rank(S) <= rank(to_stage)``.
- **reached** S in the period: the customer's *first* crossing of S ever falls in the period. Without
  manual moves a customer crosses each stage once, so this is "crossed S in the period"; a customer moved
  back by hand and crossing S again is not counted twice (the funnel counts arrivals, not returns).
- **conversion** S → next: of the customers who reached S in the period, the share whose first crossing
  of the next stage is also in the period (at or after the first crossing of S), so it never exceeds 100 %.
- **median days in stage** S: over the stays in S (transitions into S, by any move) that began in the
  period and have ended. Durations are grouped in buckets of one hour below a day and 3 % wide above
  (each bucket stands for the mean of its stays), so the median is exact to the hour below a day and
  within 3 % above (in practice much closer), shown to 0.1 day.
- split **by acquisition source** (the customer's ``source``) and **by channel** (the channel of the
  transition that made the crossing, or began the stay; manual moves have none). A customer counts in one
  group of each split per stage, so the groups add up to the overall figures; conversion within a group is
  the share of those who reached S *through that group* who went on to the next stage (by any channel).

The rollups (``FunnelReach``, ``FunnelStay``) hold these counts per day, per ten days (1st–10th, 11th–20th,
21st–end), per month and per quarter, so a year is read as three quarters, a few months and ten-day spans
and at most 20 days, never 365 days. Each first crossing of S is stored with the day of the first crossing
of S + 1 (exact, and as its month): "converted by the end of the period" is a next-stage month before the
period's last month, or an exact day in that month up to the end. Two queries, whatever the period (each a
UNION ALL of index range scans, one per grain): reached and converted; and the median buckets, summed in the
database and picked in Python.

Keeping them in step: every write of transitions goes through ``touchpoints.services``, which calls
``FunnelTracker``: the customers' contributions before the write and after it, and an INSERT of the difference
as ``pending`` rows (nothing is updated on the hot path, so concurrent writers never wait on a popular day's
row). On PostgreSQL a batch notes the transitions it added and ended in ``FunnelJournal`` and ``journal_fold``
works the difference out in one statement (the history before the write is the history after it without the
transitions added and with those ended still open). A batch of fewer than ``JOURNAL_FROM`` transitions folds
its customers' entries at once; a larger one leaves them to ``funnel_fold`` (periodic, every minute), which
adds the whole journal, many batches in one statement, straight into the rollups at every grain (it alone
writes them), then sums the pending rows into the others. So a large
import shows in the funnel within a minute, and a staff log or a single API call at once. A manual move or a
merge folds the journal entries of its customers first. ``funnel_rebuild``
recomputes everything from the transitions (after a bulk load that bypassed the services, a customer deletion
or an edit of a customer's source, which the services do not track).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import groupby
from operator import itemgetter

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext

from customers.models import Customer
from customers.pgarray import pg_array

from .models import (
    STAGE_ORDER,
    Channel,
    FunnelGrain,
    FunnelJournal,
    FunnelReach,
    FunnelStay,
    Stage,
    StageTransition,
    stage_rank,
)

logger = logging.getLogger(__name__)

N = len(STAGE_ORDER)
DAY, DEKAD, MONTH, QUARTER = (
    g.value for g in (FunnelGrain.DAY, FunnelGrain.DEKAD, FunnelGrain.MONTH, FunnelGrain.QUARTER)
)
GRAINS = (DAY, DEKAD, MONTH, QUARTER)  # each nests in the next
DELTA_GRAINS = (DAY,)
NEVER = dt.date(9999, 12, 31)  # "has not crossed the next stage"
ONE = dt.timedelta(days=1)
HOUR_BUCKETS = 24  # one-hour buckets below a day ...
BUCKET_RATIO = 1.03  # ... then buckets 3 % wide
_LOG_RATIO = math.log(BUCKET_RATIO)


# --- Contributions of customers to the rollups ------------------------------------------------------

ReachKey = tuple[str, str, int, int, dt.date, int, dt.date]  # kind, key, stage, day_grain, day, next_grain, next
StayKey = tuple[str, str, int, int, dt.date, int]  # kind, key, stage, day_grain, day, bucket
_REACH_KEY = ["kind", "key", "stage", "day_grain", "day", "next_grain", "next_day"]
_STAY_KEY = ["kind", "key", "stage", "day_grain", "day", "bucket"]


def duration_bucket(hours: float) -> int:
    """The bucket of a stay of ``hours`` (the same arithmetic as the SQL of ``_rebuild_postgresql``)."""
    if hours < HOUR_BUCKETS:
        return math.floor(hours)
    return HOUR_BUCKETS + math.floor(math.log(hours / HOUR_BUCKETS) / _LOG_RATIO)


def _month(day: dt.date) -> dt.date:
    return day.replace(day=1)


def grain_start(day: dt.date, grain: int) -> dt.date:
    """The first day of the day, ten days (1st, 11th, 21st), month or quarter that ``day`` is in."""
    if grain == QUARTER:
        return day.replace(month=day.month - (day.month - 1) % 3, day=1)
    if grain == MONTH:
        return day.replace(day=1)
    if grain == DEKAD:
        return day.replace(day=1 if day.day < 11 else 11 if day.day < 21 else 21)
    return day


def grain_next(start: dt.date, grain: int) -> dt.date:
    """The first day after the unit of ``grain`` that begins on ``start``."""
    if grain == DAY:
        return start + dt.timedelta(days=1)
    if grain == DEKAD and start.day < 21:
        return start + dt.timedelta(days=10)
    if grain == QUARTER:
        return start.replace(year=start.year + 1, month=1) if start.month > 9 else start.replace(month=start.month + 3)
    return (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


@dataclass
class Contributions:
    reach: dict[ReachKey, int] = field(default_factory=lambda: defaultdict(int))
    stays: dict[StayKey, int] = field(default_factory=lambda: defaultdict(int))
    hours: dict[StayKey, float] = field(default_factory=lambda: defaultdict(float))


# customer_id, source, from_stage, to_stage, channel, at, ended_at, id
_COLUMNS = ("customer_id", "customer__source", "from_stage", "to_stage", "channel", "at", "ended_at", "id")


def _transitions_of(customer_ids: Iterable[int], sources: dict[int, str] | None = None) -> list[tuple]:
    """The customers' transitions as ``_COLUMNS``; given their ``sources``, without joining the customers."""
    ids = sorted(set(customer_ids))
    if not ids:
        return []
    qs = StageTransition.objects.filter(customer_id__in=ids).order_by("customer_id", "at", "id")
    if sources is None:
        return list(qs.values_list(*_COLUMNS))
    if connection.vendor == "postgresql":  # one array parameter, not a placeholder per customer
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT customer_id, from_stage, to_stage, channel, at, ended_at, id FROM touchpoints_stagetransition"
                " WHERE customer_id = ANY(%s::bigint[]) ORDER BY customer_id, at, id",
                [pg_array(ids)],
            )
            rows = cursor.fetchall()
    else:
        rows = qs.values_list(*(c for c in _COLUMNS if c != "customer__source"))
    return [(row[0], sources[row[0]], *row[1:]) for row in rows]


def _contributions(rows: list[tuple], grains: tuple[int, ...] = GRAINS) -> Contributions:
    """What these customers' transitions (``_COLUMNS``, ordered by customer, at, id) add to the rollups, at
    ``grains`` (the deltas are written at day grain only: ``funnel_fold`` adds the others)."""
    out = Contributions()
    tz = timezone.get_current_timezone()  # once: looking it up costs more than converting a time
    for _customer_id, history in groupby(rows, key=itemgetter(0)):
        first: dict[int, tuple[dt.date, str]] = {}
        source = ""
        for _id, source, from_stage, to_stage, channel, at, ended_at, _pk in history:
            lo, hi = stage_rank(from_stage), stage_rank(to_stage)
            day = at.astimezone(tz).date()
            for stage in range(lo + 1, hi + 1):
                first.setdefault(stage, (day, channel))
            if ended_at is not None:
                hours = (ended_at - at).total_seconds() / 3600
                bucket = duration_bucket(hours)
                for kind, key in (("all", ""), ("source", source), ("channel", channel)):
                    for grain in grains:
                        k = (kind, key, hi, grain, grain_start(day, grain), bucket)
                        out.stays[k] += 1
                        out.hours[k] += hours
        for stage, (day, channel) in first.items():
            following = first.get(stage + 1)
            nxt = following[0] if following else NEVER
            for kind, key in (("source", source), ("channel", channel)):
                for grain in grains:
                    d = grain_start(day, grain)
                    out.reach[(kind, key, stage, grain, d, MONTH, nxt if nxt == NEVER else _month(nxt))] += 1
                    if nxt != NEVER:
                        out.reach[(kind, key, stage, grain, d, DAY, nxt)] += 1
    return out


def _append_difference(before: Contributions, after: Contributions) -> int:
    """Append ``after - before`` as pending rows (COPY on PostgreSQL); returns how many rows were written."""
    reach = [
        (*k, n)
        for k in after.reach.keys() | before.reach.keys()
        if (n := after.reach.get(k, 0) - before.reach.get(k, 0))
    ]
    stays = [
        (*k, n, after.hours.get(k, 0.0) - before.hours.get(k, 0.0))
        for k in after.stays.keys() | before.stays.keys()
        if (n := after.stays.get(k, 0) - before.stays.get(k, 0))
    ]
    _insert_pending(FunnelReach, [*_REACH_KEY, "n"], reach)
    _insert_pending(FunnelStay, [*_STAY_KEY, "n", "hours"], stays)
    return len(reach) + len(stays)


# Below this many rows one INSERT (one round trip) beats a COPY (three, and a fourth for ids from the sequence);
# touchpoints/services.py writes touchpoints and transitions by the same rule.
COPY_FROM = 50
# From this many transitions a batch leaves its funnel deltas in the journal for funnel_fold: bulk ingest does not
# hold its customers' locks while the rollups are worked out. Fewer (a staff log, one API call) are counted at once.
JOURNAL_FROM = 50
FOLD_WORK_MEM = "64MB"  # funnel_fold's sorts (one fold runs at a time)
FOLD_LOCK = 0x54_53_46_46  # funnel_fold's pg_advisory_xact_lock key ("TSFF"; the RFM scores and the outbox use others)


def _insert_pending(model, columns: list[str], rows: list[tuple]) -> None:
    if not rows:
        return
    if connection.vendor != "postgresql" or len(rows) < COPY_FROM:
        model.objects.bulk_create(model(pending=True, **dict(zip(columns, row, strict=True))) for row in rows)
        return
    sql = f"COPY {model._meta.db_table} ({', '.join(['pending', *columns])}) FROM STDIN"
    with connection.cursor() as cursor, connection.wrap_database_errors, cursor.cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row((True, *row))


class FunnelTracker:
    """Keeps the rollups in step with a write of some customers' transitions (call inside its transaction,
    with the customers locked): created before the write, ``record()`` or ``record_appended()`` after it."""

    def __init__(self, customer_ids: Iterable[int], sources: dict[int, str] | None = None, *, appending: bool = False):
        """``appending``: ``touchpoint_record_batch`` is about to add transitions (and gives ``sources``)."""
        self.customer_ids = sorted(set(customer_ids))
        # On PostgreSQL an append is noted in the journal and worked out in the database: nothing to read first.
        self.in_database = appending and connection.vendor == "postgresql"
        if not self.in_database:
            journal_fold(self.customer_ids)  # a delta is counted against what the rollups count: the journal first
            self.rows = _transitions_of(self.customer_ids, sources)
            self.before = _contributions(self.rows, DELTA_GRAINS)

    def record(self) -> int:
        """After any write: read the customers' transitions again."""
        if self.in_database:
            raise TypeError("record() needs the history read before the write: create the tracker for an append")
        return _append_difference(self.before, _contributions(_transitions_of(self.customer_ids), DELTA_GRAINS))

    def record_appended(
        self, *, closed: dict[int, dt.datetime], closed_ids: list[tuple[int, int]], added: list, sources: dict[int, str]
    ) -> int:
        """After the write ``touchpoint_record_batch`` makes: each customer in ``closed`` left their open stage
        then, never before entering it (``closed_ids``: the (customer id, transition id) so ended), and the
        ``added`` transitions, saved, follow. ``sources``: each customer's acquisition source.

        On PostgreSQL the transitions are noted in the journal; fewer than ``JOURNAL_FROM`` (a staff log, one API
        call) are counted at once, more at the next ``funnel_fold``, within a minute."""
        if self.in_database:
            journal_append(closed=closed_ids, added=[(t.customer_id, t.pk) for t in added])
            return journal_fold(self.customer_ids) if len(added) < JOURNAL_FROM else 0
        rows = []
        for row in self.rows:
            customer_id, ended_at = row[0], row[6]
            if ended_at is None and customer_id in closed:
                row = (*row[:6], max(closed[customer_id], row[5]), row[7])
            rows.append(row)
        rows.extend(
            (t.customer_id, sources[t.customer_id], t.from_stage, t.to_stage, t.channel, t.at, t.ended_at, t.pk)
            for t in added
        )
        rows.sort(key=lambda row: (row[0], row[5], row[7]))
        return _append_difference(self.before, _contributions(rows, DELTA_GRAINS))


def funnel_merge(*, primary: Customer, duplicate: Customer) -> int:
    """Before a merge moves the duplicate's transitions to the primary: count them as the primary's from now on
    (one history, one first crossing per stage, the primary's source)."""
    journal_fold([primary.pk, duplicate.pk])  # what the rollups count of them must be their history as it is
    rows = _transitions_of([primary.pk, duplicate.pk])
    before = _contributions(rows, DELTA_GRAINS)
    merged = sorted(
        ((primary.pk, primary.source, *row[2:]) for row in rows), key=lambda row: (row[5], row[7])
    )  # by at, id, as if they had always been one customer's
    return _append_difference(before, _contributions(merged, DELTA_GRAINS))


# --- Folding and rebuilding -----------------------------------------------------------------------


@transaction.atomic
def funnel_fold() -> int:
    """Count the journal's entries, then sum the pending rows into the rollups' unique rows (safe to run twice,
    and concurrently: runs wait for each other on an advisory lock, and a pending row is deleted by the run that
    folds it). Returns how many pending rows were folded."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # one fold at a time: two upserting the same rows could deadlock
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [FOLD_LOCK])
            # A minute's journal is tens of thousands of entries: the planner's estimates pass jit_above_cost, and
            # compiling the expressions took longer than running them; the sorts of the default 4 MB spilled to disk.
            # Measured on 30,000 touchpoints (100,000 customers): 2.9 s -> 1.2 s for the journal's statement.
            # For this transaction only.
            cursor.execute("SELECT set_config('jit', 'off', true), set_config('work_mem', %s, true)", [FOLD_WORK_MEM])
        journal_fold(upsert=True)  # the large batches' transitions, straight into the rollups at every grain
        return _fold_postgresql(FunnelReach, _REACH_KEY, ["n"]) + _fold_postgresql(
            FunnelStay, _STAY_KEY, ["n", "hours"]
        )
    return _fold_python(FunnelReach, _REACH_KEY, ["n"]) + _fold_python(FunnelStay, _STAY_KEY, ["n", "hours"])


def _fold_postgresql(model, key: list[str], sums: list[str]) -> int:
    table = model._meta.db_table
    cols = ", ".join(key)
    sum_cols = ", ".join(f"SUM({c}) AS {c}" for c in sums)
    updates = ", ".join(f"{c} = {table}.{c} + EXCLUDED.{c}" for c in sums)
    # A delta is written at day grain only: it counts in its day, ten days, month and quarter.
    at_grain = cols.replace("day_grain, day", f"g.grain AS day_grain, {_grain_start_sql('g.grain', 'day')} AS day")
    grains = ", ".join(f"({g})" for g in GRAINS)
    sql = f"""
        WITH moved AS (DELETE FROM {table} WHERE pending RETURNING {cols}, {", ".join(sums)}),
             expanded AS (
                 SELECT {at_grain}, {", ".join(sums)} FROM moved CROSS JOIN (VALUES {grains}) AS g(grain)
             ),
             summed AS (SELECT {cols}, {sum_cols} FROM expanded GROUP BY {cols}),
             folded AS (
                 INSERT INTO {table} (pending, {cols}, {", ".join(sums)})
                 SELECT false, {cols}, {", ".join(sums)} FROM summed
                 ON CONFLICT ({cols}) WHERE NOT pending DO UPDATE SET {updates}
                 RETURNING id, n
             )
        SELECT (SELECT COUNT(*) FROM moved), ARRAY(SELECT id FROM folded WHERE n = 0)
    """  # noqa: S608 - our own table and column names only
    with connection.cursor() as cursor:
        cursor.execute(sql)
        moved, empty = cursor.fetchone()
    _delete_empty(model, empty)
    return int(moved)


def _delete_empty(model, ids: list[int]) -> None:
    """Delete the rollup rows a fold brought to zero: every customer of them has left them."""
    if ids:
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {model._meta.db_table} WHERE id = ANY(%s)", [pg_array(ids)])  # noqa: S608


def _fold_python(model, key: list[str], sums: list[str]) -> int:
    """The same for the embedded SQLite default (demo-sized data)."""
    pending = list(model.objects.filter(pending=True).values("id", *key, *sums))
    if not pending:
        return 0
    totals: dict[tuple, dict[str, float]] = defaultdict(lambda: dict.fromkeys(sums, 0))
    for row in pending:
        for grain in GRAINS:  # a delta is written at day grain; it counts at every grain
            expanded = {**row, "day_grain": grain, "day": grain_start(row["day"], grain)}
            for c in sums:
                totals[tuple(expanded[k] for k in key)][c] += row[c]
    model.objects.filter(id__in=[row["id"] for row in pending]).delete()
    for values, added in totals.items():
        lookup = dict(zip(key, values, strict=True))
        existing = model.objects.filter(pending=False, **lookup).first()
        if existing is None:
            existing = model(pending=False, **lookup, **dict.fromkeys(sums, 0))
        for c in sums:
            setattr(existing, c, getattr(existing, c) + added[c])
        if existing.n == 0:
            if existing.pk:
                existing.delete()
        else:
            existing.save()
    return len(pending)


@transaction.atomic
def funnel_rebuild() -> dict[str, int]:
    """Recompute the rollups from every stage transition. Writers of transitions wait until it commits (the
    rollups are locked against new deltas); readers keep reading the old figures meanwhile."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"LOCK TABLE {FunnelReach._meta.db_table}, {FunnelStay._meta.db_table},"
                f" {FunnelJournal._meta.db_table} IN SHARE ROW EXCLUSIVE MODE"
            )
        FunnelJournal.objects.all().delete()  # the rebuild counts every transition there is
        FunnelReach.objects.all().delete()
        FunnelStay.objects.all().delete()
        _rebuild_postgresql()
    else:
        FunnelReach.objects.all().delete()
        FunnelStay.objects.all().delete()
        customer_ids = StageTransition.objects.order_by().values_list("customer_id", flat=True).distinct()
        ids = sorted(customer_ids)
        for start in range(0, len(ids), 2000):
            _append_difference(
                Contributions(), _contributions(_transitions_of(ids[start : start + 2000]), DELTA_GRAINS)
            )
        funnel_fold()
    counts = {"reach_rows": FunnelReach.objects.count(), "stay_rows": FunnelStay.objects.count()}
    logger.info("funnel rebuilt reach_rows=%d stay_rows=%d", counts["reach_rows"], counts["stay_rows"])
    return counts


def _rank_sql(column: str) -> str:
    whens = " ".join(f"WHEN '{stage}' THEN {rank}" for rank, stage in enumerate(STAGE_ORDER))
    return f"CASE {column} {whens} ELSE -1 END"


def _grain_start_sql(grain: str, day: str) -> str:
    month = f"date_trunc('month', {day})::date"
    dekad = (
        f"{month} + CASE WHEN extract(day FROM {day}) < 11 THEN 0 WHEN extract(day FROM {day}) < 21 THEN 10 ELSE 20 END"
    )
    quarter = f"date_trunc('quarter', {day})::date"
    return (
        f"CASE {grain} WHEN {DAY} THEN {day} WHEN {DEKAD} THEN {dekad} WHEN {QUARTER} THEN {quarter} ELSE {month} END"
    )


def _rollup_inserts(grains: tuple[int, ...], *, pending: bool, upsert: bool = False) -> str:
    """The CTEs and final SELECT of a statement that adds to the rollups what the rows of the CTE ``t`` contribute
    at ``grains``: the same rules as ``_contributions``, set-based; it returns how many rows it wrote, and the ids of
    the rows it brought to zero (to delete). ``t`` yields
    ``sign`` (+1, or -1 for a history that is being replaced), ``customer_id``, ``source``, ``channel``, ``at``,
    ``ended_at``, ``lo``, ``hi`` (the ranks of the stages left and entered), ``d`` (the day of ``at``) and ``id``;
    each (sign, customer) is one history.
    ``pending``: the rows are deltas for ``funnel_fold`` (else final rows: for a rebuild, into empty tables, or with
    ``upsert`` added to the rows there, by ``funnel_fold``, which alone writes them)."""
    never = NEVER.isoformat()
    day_grains = ", ".join(f"({g})" for g in grains)
    pending = "true" if pending else "false"
    reach_upsert = stay_upsert = ""
    if upsert:
        reach, stay = FunnelReach._meta.db_table, FunnelStay._meta.db_table
        reach_upsert = (
            f"ON CONFLICT ({', '.join(_REACH_KEY)}) WHERE NOT pending DO UPDATE SET n = {reach}.n + EXCLUDED.n"
        )
        stay_upsert = f"""ON CONFLICT ({", ".join(_STAY_KEY)}) WHERE NOT pending
            DO UPDATE SET n = {stay}.n + EXCLUDED.n, hours = {stay}.hours + EXCLUDED.hours"""
    stages = ", ".join(f"({rank})" for rank in range(N))  # a join, not generate_series: estimates the planner trusts
    return f"""
        x AS (
            SELECT DISTINCT ON (t.sign, t.customer_id, s.stage) t.sign, t.customer_id, t.source, t.channel, s.stage,
                   t.d
              FROM t JOIN (VALUES {stages}) AS s(stage) ON s.stage > t.lo AND s.stage <= t.hi
             ORDER BY t.sign, t.customer_id, s.stage, t.at, t.id
        ),
        p AS (
            SELECT x.sign, x.source, x.channel, x.stage, x.d, COALESCE(y.d, DATE '{never}') AS e
              FROM x LEFT JOIN x y ON y.sign = x.sign AND y.customer_id = x.customer_id AND y.stage = x.stage + 1
        ),
        reach_day AS (
            SELECT k.kind, k.key, p.stage, p.d, ng.next_grain,
                   CASE WHEN ng.next_grain = {DAY} OR p.e = DATE '{never}' THEN p.e
                        ELSE date_trunc('month', p.e)::date END AS next_day,
                   SUM(p.sign) AS n
              FROM p
             CROSS JOIN LATERAL (VALUES ('source', p.source), ('channel', p.channel)) AS k(kind, key)
             CROSS JOIN (VALUES ({DAY}), ({MONTH})) AS ng(next_grain)
             WHERE ng.next_grain = {MONTH} OR p.e <> DATE '{never}'
             GROUP BY 1, 2, 3, 4, 5, 6 HAVING SUM(p.sign) <> 0
        ),
        reach AS (
            SELECT r.kind, r.key, r.stage, gr.day_grain, {_grain_start_sql("gr.day_grain", "r.d")} AS day,
                   r.next_grain, r.next_day, r.n
              FROM reach_day AS r CROSS JOIN (VALUES {day_grains}) AS gr(day_grain)
        ),
        ended AS (
            SELECT t.sign, t.source, t.channel, t.hi AS stage, t.d,
                   EXTRACT(EPOCH FROM (t.ended_at - t.at))::float8 / 3600 AS hours
              FROM t WHERE t.ended_at IS NOT NULL
        ),
        stay_day AS (
            SELECT k.kind, k.key, e.stage, e.d,
                   CASE WHEN e.hours < {HOUR_BUCKETS} THEN floor(e.hours)
                        ELSE {HOUR_BUCKETS} + floor(ln(e.hours / {HOUR_BUCKETS}) / ln({BUCKET_RATIO}::float8))
                   END AS bucket,
                   SUM(e.sign) AS n, SUM(e.sign * e.hours) AS hours
              FROM ended AS e
             CROSS JOIN LATERAL (VALUES ('all', ''), ('source', e.source), ('channel', e.channel)) AS k(kind, key)
             GROUP BY 1, 2, 3, 4, 5 HAVING SUM(e.sign) <> 0
        ),
        stay AS (
            SELECT s.kind, s.key, s.stage, gr.day_grain, {_grain_start_sql("gr.day_grain", "s.d")} AS day, s.bucket,
                   s.n, s.hours
              FROM stay_day AS s CROSS JOIN (VALUES {day_grains}) AS gr(day_grain)
        ),
        reach_rows AS (
            INSERT INTO {FunnelReach._meta.db_table}
                   (pending, kind, key, stage, day_grain, day, next_grain, next_day, n)
            SELECT {pending}, kind, key, stage, day_grain, day, next_grain, next_day, SUM(n)
              FROM reach GROUP BY kind, key, stage, day_grain, day, next_grain, next_day HAVING SUM(n) <> 0
            {reach_upsert}
            RETURNING id, n
        ),
        stay_rows AS (
            INSERT INTO {FunnelStay._meta.db_table} (pending, kind, key, stage, day_grain, day, bucket, n, hours)
            SELECT {pending}, kind, key, stage, day_grain, day, bucket, SUM(n), SUM(hours)
              FROM stay GROUP BY kind, key, stage, day_grain, day, bucket HAVING SUM(n) <> 0
            {stay_upsert}
            RETURNING id, n
        )
        SELECT (SELECT COUNT(*) FROM reach_rows) + (SELECT COUNT(*) FROM stay_rows),
               ARRAY(SELECT id FROM reach_rows WHERE n = 0), ARRAY(SELECT id FROM stay_rows WHERE n = 0)
    """  # noqa: S608 - our own names only


def _rebuild_postgresql() -> None:
    """The rollups from every transition, in one statement."""
    transitions = f"""
        SELECT 1 AS sign, st.id, st.customer_id, c.source, st.channel, st.at, st.ended_at,
               {_rank_sql("st.from_stage")} AS lo, {_rank_sql("st.to_stage")} AS hi,
               (st.at AT TIME ZONE %(tz)s)::date AS d
          FROM {StageTransition._meta.db_table} st JOIN {Customer._meta.db_table} c ON c.id = st.customer_id
    """  # noqa: S608 - our own names only
    sql = f"WITH t AS MATERIALIZED ({transitions}), {_rollup_inserts(GRAINS, pending=False)}"
    with connection.cursor() as cursor:
        cursor.execute(sql, {"tz": settings.TIME_ZONE})


def _history_sql(customers: str, flags: str) -> str:
    """The history of the customers ``customers`` yields (``customer_id``, ``source``), now and before a write:
    ``flags`` yields (``transition_id``, ``added``, ``closed``) for the transitions the write added or ended."""
    return f"""
        hist AS MATERIALIZED (
            SELECT st.id, st.customer_id, s.source, st.channel, st.at, st.ended_at,
                   {_rank_sql("st.from_stage")} AS lo, {_rank_sql("st.to_stage")} AS hi,
                   (st.at AT TIME ZONE %(tz)s)::date AS d,
                   COALESCE(f.added, false) AS added, COALESCE(f.closed, false) AS closed
              FROM ({customers}) AS s
              JOIN {StageTransition._meta.db_table} st ON st.customer_id = s.customer_id
              LEFT JOIN ({flags}) AS f ON f.transition_id = st.id
        ),
        t AS (
            SELECT 1 AS sign, id, customer_id, source, channel, at, ended_at, lo, hi, d FROM hist
            UNION ALL
            SELECT -1, id, customer_id, source, channel, at, CASE WHEN closed THEN NULL ELSE ended_at END, lo, hi, d
              FROM hist WHERE NOT added
        )
    """  # noqa: S608 - our own names only


def journal_append(*, closed: list[tuple[int, int]], added: list[tuple[int, int]]) -> None:
    """PostgreSQL: note (customer id, transition id) pairs a large batch ``closed`` and ``added`` in the
    ``FunnelJournal``, for ``funnel_fold`` to count (one INSERT; the batch does not wait on the rollups)."""
    rows = [(c, t, True) for c, t in closed] + [(c, t, False) for c, t in added]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {FunnelJournal._meta.db_table} (customer_id, transition_id, closed)"  # noqa: S608
            " SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::boolean[])",
            [pg_array(r[0] for r in rows), pg_array(r[1] for r in rows), pg_array(r[2] for r in rows)],
        )


def journal_fold(customer_ids: Iterable[int] | None = None, *, upsert: bool = False) -> int:
    """PostgreSQL: turn the journal (of ``customer_ids``, or all of it) into pending rows, in one statement that
    deletes the entries it counts. The history before the entries is the history now without the transitions
    they added and with those they ended still open; one read of the transitions, none into Python. Returns how
    many rows it wrote.

    ``upsert`` (``funnel_fold``, which holds the fold lock): add the whole journal straight to the rollups at every
    grain, rather than write pending rows at day grain to be deleted and summed the moment after."""
    if connection.vendor != "postgresql":
        return 0
    table = FunnelJournal._meta.db_table
    if customer_ids is None:
        # The journal fills and empties every minute: its statistics are always stale, and a plan made for a few
        # rows (nested loops over the entries) is quadratic for a large import's. Sample it first (milliseconds).
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {table}")  # noqa: S608 - our own table name
    where = "" if customer_ids is None else "WHERE customer_id = ANY(%(only)s::bigint[])"
    head = f"""
        j AS (DELETE FROM {table} {where} RETURNING customer_id, transition_id, closed),
    """  # noqa: S608 - our own names only
    customers = f"SELECT id AS customer_id, source FROM {Customer._meta.db_table}"  # noqa: S608 - our own names
    customers += " WHERE id IN (SELECT customer_id FROM j)"
    flags = "SELECT transition_id, bool_or(NOT closed) AS added, bool_or(closed) AS closed FROM j GROUP BY 1"
    if upsert and customer_ids is not None:
        raise ValueError("only funnel_fold upserts, and it folds the whole journal")
    if upsert:
        inserts = _rollup_inserts(GRAINS, pending=False, upsert=True)
    else:
        inserts = _rollup_inserts(DELTA_GRAINS, pending=True)
    sql = f"WITH {head}{_history_sql(customers, flags)}, {inserts}"
    params = {"tz": settings.TIME_ZONE}
    if customer_ids is not None:
        params["only"] = pg_array(sorted(set(customer_ids)))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows, empty_reach, empty_stay = cursor.fetchone()
    _delete_empty(FunnelReach, empty_reach)
    _delete_empty(FunnelStay, empty_stay)
    return int(rows)


# --- The report -----------------------------------------------------------------------------------


@dataclass
class FunnelStage:
    stage: str
    label: str
    reached: int = 0
    converted: int = 0  # reached this stage and the next
    median_days: float | None = None

    @property
    def conversion(self) -> float | None:
        """Share (0–1) of those who reached this stage who reached the next; None for the last stage."""
        if self.stage == STAGE_ORDER[-1] or not self.reached:
            return None
        return self.converted / self.reached

    @property
    def conversion_percent(self) -> float | None:
        value = self.conversion
        return None if value is None else round(value * 100, 1)


@dataclass
class FunnelGroup:
    key: str
    label: str
    stages: list[FunnelStage] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Customers who reached at least one stage in the period."""
        return max((s.reached for s in self.stages), default=0) if self.stages else 0

    @property
    def is_empty(self) -> bool:
        return not any(s.reached or s.median_days is not None for s in self.stages)


@dataclass
class Funnel:
    start: dt.date
    end: dt.date
    overall: FunnelGroup
    by_source: list[FunnelGroup]
    by_channel: list[FunnelGroup]

    def chart_data(self) -> dict:
        """What static/touchpoints/js/funnel.js draws (read through json_script, never inline)."""
        return {
            "labels": [str(s.label) for s in self.overall.stages],
            "reached": [s.reached for s in self.overall.stages],
            "conversion": [s.conversion_percent for s in self.overall.stages],
            "median_days": [s.median_days for s in self.overall.stages],
        }


def _new_group(key: str, label: str) -> FunnelGroup:
    labels = dict(Stage.choices)
    return FunnelGroup(key=key, label=label, stages=[FunnelStage(stage=s, label=labels[s]) for s in STAGE_ORDER])


def period_rows(start: dt.date, end: dt.date) -> tuple[list[tuple[int, dt.date, dt.date]], dt.date]:
    """The rollup rows of the days ``start``–``end``, as few as can be: whole months at month grain, whole
    ten-day spans at theirs, the days left at the edges at day grain: (grain, first row's day, last row's day).
    And the first day of the period's last, partial month (``end + 1`` when the period ends with a month)."""
    units: list[tuple[int, dt.date]] = []
    day = start
    while day <= end:
        grain = next(g for g in reversed(GRAINS) if grain_start(day, g) == day and grain_next(day, g) <= end + ONE)
        units.append((grain, day))
        day = grain_next(day, grain)
    branches: list[tuple[int, dt.date, dt.date]] = []
    for grain, group in groupby(units, key=itemgetter(0)):
        days = [d for _g, d in group]
        branches.append((grain, days[0], days[-1]))
    return branches, _month(end + ONE)


def _union(model, columns: str, where: str, period: tuple[dt.date, dt.date], extra: list) -> tuple[str, list]:
    """``SELECT columns FROM table WHERE <rows of one grain> AND where UNION ALL …``: one index range scan per
    grain of ``period_rows``, and one of the pending deltas (day grain) of the whole period."""
    table, adapt = model._meta.db_table, connection.ops.adapt_datefield_value
    start, end = period
    branches, _last_month = period_rows(start, end)
    parts, params = [], []
    for grain, first, last in branches:
        parts.append(
            f"SELECT {columns} FROM {table} WHERE NOT pending AND day_grain = {int(grain)}"  # noqa: S608
            f" AND day >= %s AND day <= %s{where}"
        )
        params += [adapt(first), adapt(last), *extra]
    parts.append(f"SELECT {columns} FROM {table} WHERE pending AND day >= %s AND day <= %s{where}")  # noqa: S608
    params += [adapt(start), adapt(end), *extra]
    return " UNION ALL ".join(parts), params


def _medians(period: tuple[dt.date, dt.date]) -> dict[tuple[str, str, int], float]:
    """Median hours in stage per (kind, key, stage): PERCENTILE_CONT(0.5) over the stays, each bucket standing
    for the mean of its stays (the database sums the buckets of the period; a few thousand rows come back, CAST
    to integers and floats: numerics would come back as Decimals, slower to make and to sort). Picking the middle
    buckets by window sums in the database cost more than doing it here."""
    union, params = _union(FunnelStay, "kind, key, stage, bucket, n, hours", "", period, [])
    sql = f"""
        SELECT kind, key, stage, bucket, CAST(SUM(n) AS bigint), CAST(SUM(hours) AS double precision)
          FROM ({union}) AS u GROUP BY kind, key, stage, bucket HAVING SUM(n) > 0
    """  # noqa: S608 - our own table and column names only
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    rows.sort()
    medians = {}
    for group, histogram in groupby(rows, key=itemgetter(0, 1, 2)):
        buckets = [(n, hours) for _k, _key, _s, _b, n, hours in histogram]
        total = sum(n for n, _h in buckets)

        def value(rank: int, buckets=buckets) -> float:
            below = 0
            for n, hours in buckets:
                if rank < below + n:
                    return hours / n
                below += n
            raise AssertionError("rank beyond the stays")

        medians[group] = (value((total - 1) // 2) + value(total // 2)) / 2
    return medians


def funnel_report(*, start: dt.date, end: dt.date) -> Funnel:
    _branches, last_month = period_rows(start, end)
    counts: dict[tuple[str, str], tuple[list[int], list[int]]] = defaultdict(lambda: ([0] * N, [0] * N))
    adapt = connection.ops.adapt_datefield_value
    columns = "kind, key, stage, next_grain, next_day, n"
    reached_sql, reached_params = _union(FunnelReach, columns, f" AND next_grain = {MONTH}", (start, end), [])
    late, late_params = _union(
        FunnelReach,
        columns,
        f" AND next_grain = {DAY} AND next_day >= %s AND next_day <= %s",
        (start, end),
        [adapt(last_month), adapt(end)],
    )
    # Reached: the month-grain "next" rows (one per first crossing). Converted: those of them whose next stage
    # came in a month before the period's last, and the day-grain rows of that last month up to ``end``.
    sql = f"""
        SELECT kind, key, stage, SUM(CASE WHEN next_grain = {MONTH} THEN n ELSE 0 END),
               SUM(CASE WHEN next_grain = {DAY} OR next_day < %s THEN n ELSE 0 END)
          FROM ({reached_sql} UNION ALL {late}) AS u GROUP BY kind, key, stage
    """  # noqa: S608 - our own SQL
    params = [adapt(last_month), *reached_params, *late_params]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for kind, key, stage, reached, converted in cursor.fetchall():
            counts[(kind, key)][0][stage] += int(reached or 0)
            counts[(kind, key)][1][stage] += int(converted or 0)
    medians = _medians((start, end))

    sources = dict(Customer.Source.choices)
    channels = {"": gettext("Moved by hand"), **dict(Channel.choices)}
    groups = {
        "source": {key: _new_group(key, label) for key, label in sources.items()},
        "channel": {key: _new_group(key, label) for key, label in Channel.choices},
        "all": {"": _new_group("all", gettext("All customers"))},
    }
    groups["channel"][""] = _new_group("", channels[""])
    labels = {"source": sources, "channel": channels, "all": {}}
    for kind, key in {*counts, *((kind, key) for kind, key, _stage in medians)}:
        groups[kind].setdefault(key, _new_group(key, str(labels[kind].get(key, key))))
    for (kind, key), (reached, converted) in counts.items():
        for rank, stage in enumerate(groups[kind][key].stages):
            stage.reached += reached[rank]
            stage.converted += converted[rank] if rank < N - 1 else 0
    # Each customer has exactly one source, so the overall counts are the sum of the source groups.
    overall = groups["all"][""]
    for group in groups["source"].values():
        for mine, theirs in zip(overall.stages, group.stages, strict=True):
            mine.reached += theirs.reached
            mine.converted += theirs.converted
    for (kind, key, stage), hours in medians.items():
        if 0 <= stage < N:
            groups[kind][key].stages[stage].median_days = round(hours / 24, 1)

    return Funnel(
        start=start,
        end=end,
        overall=overall,
        by_source=[g for g in groups["source"].values() if not g.is_empty],
        by_channel=[g for g in groups["channel"].values() if not g.is_empty],
    )
