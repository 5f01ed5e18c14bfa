"""Keeping the rollups in step with the writes of transitions: ``FunnelTracker``, the journal and its fold."""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable

from django.conf import settings
from django.db import connection, transaction

from customers.models import Customer
from customers.pgarray import pg_array
from touchpoints.funnel.grains import (
    DELTA_GRAINS,
    GRAINS,
    REACH_KEY,
    STAY_KEY,
    Contributions,
    contributions,
    grain_start,
    transitions_of,
)
from touchpoints.funnel.sql import grain_start_sql, history_sql, rollup_inserts
from touchpoints.models import FunnelJournal, FunnelReach, FunnelStay

logger = logging.getLogger(__name__)

# Below this many rows one INSERT (one round trip) beats a COPY (three, and a fourth for ids from the sequence);
# touchpoints/services/inserts.py writes touchpoints and transitions by the same rule.
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


def append_difference(before: Contributions, after: Contributions) -> int:
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
    _insert_pending(FunnelReach, [*REACH_KEY, "n"], reach)
    _insert_pending(FunnelStay, [*STAY_KEY, "n", "hours"], stays)
    return len(reach) + len(stays)


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
            self.rows = transitions_of(self.customer_ids, sources)
            self.before = contributions(self.rows, DELTA_GRAINS)

    def record(self) -> int:
        """After any write: read the customers' transitions again."""
        if self.in_database:
            raise TypeError("record() needs the history read before the write: create the tracker for an append")
        return append_difference(self.before, contributions(transitions_of(self.customer_ids), DELTA_GRAINS))

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
        return append_difference(self.before, contributions(rows, DELTA_GRAINS))


def funnel_merge(*, primary: Customer, duplicate: Customer) -> int:
    """Before a merge moves the duplicate's transitions to the primary: count them as the primary's from now on
    (one history, one first crossing per stage, the primary's source)."""
    journal_fold([primary.pk, duplicate.pk])  # what the rollups count of them must be their history as it is
    rows = transitions_of([primary.pk, duplicate.pk])
    before = contributions(rows, DELTA_GRAINS)
    merged = sorted(
        ((primary.pk, primary.source, *row[2:]) for row in rows), key=lambda row: (row[5], row[7])
    )  # by at, id, as if they had always been one customer's
    return append_difference(before, contributions(merged, DELTA_GRAINS))


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
        return _fold_postgresql(FunnelReach, REACH_KEY, ["n"]) + _fold_postgresql(FunnelStay, STAY_KEY, ["n", "hours"])
    return _fold_python(FunnelReach, REACH_KEY, ["n"]) + _fold_python(FunnelStay, STAY_KEY, ["n", "hours"])


def _fold_postgresql(model, key: list[str], sums: list[str]) -> int:
    table = model._meta.db_table
    cols = ", ".join(key)
    sum_cols = ", ".join(f"SUM({c}) AS {c}" for c in sums)
    updates = ", ".join(f"{c} = {table}.{c} + EXCLUDED.{c}" for c in sums)
    # A delta is written at day grain only: it counts in its day, ten days, month and quarter.
    at_grain = cols.replace("day_grain, day", f"g.grain AS day_grain, {grain_start_sql('g.grain', 'day')} AS day")
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
        inserts = rollup_inserts(GRAINS, pending=False, upsert=True)
    else:
        inserts = rollup_inserts(DELTA_GRAINS, pending=True)
    sql = f"WITH {head}{history_sql(customers, flags)}, {inserts}"
    params = {"tz": settings.TIME_ZONE}
    if customer_ids is not None:
        params["only"] = pg_array(sorted(set(customer_ids)))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows, empty_reach, empty_stay = cursor.fetchone()
    _delete_empty(FunnelReach, empty_reach)
    _delete_empty(FunnelStay, empty_stay)
    return int(rows)
