"""The funnel's definitions in SQL, for the rebuild and the fold on PostgreSQL: stage ranks, grain starts, the
history of transitions and the INSERTs of rollup rows.
"""

from __future__ import annotations

from touchpoints.funnel.grains import (
    BUCKET_RATIO,
    DAY,
    DEKAD,
    HOUR_BUCKETS,
    MONTH,
    NEVER,
    QUARTER,
    REACH_KEY,
    STAY_KEY,
    N,
)
from touchpoints.models import STAGE_ORDER, FunnelReach, FunnelStay, StageTransition


def rank_sql(column: str) -> str:
    whens = " ".join(f"WHEN '{stage}' THEN {rank}" for rank, stage in enumerate(STAGE_ORDER))
    return f"CASE {column} {whens} ELSE -1 END"


def grain_start_sql(grain: str, day: str) -> str:
    month = f"date_trunc('month', {day})::date"
    dekad = (
        f"{month} + CASE WHEN extract(day FROM {day}) < 11 THEN 0 WHEN extract(day FROM {day}) < 21 THEN 10 ELSE 20 END"
    )
    quarter = f"date_trunc('quarter', {day})::date"
    return (
        f"CASE {grain} WHEN {DAY} THEN {day} WHEN {DEKAD} THEN {dekad} WHEN {QUARTER} THEN {quarter} ELSE {month} END"
    )


def rollup_inserts(grains: tuple[int, ...], *, pending: bool, upsert: bool = False) -> str:
    """The CTEs and final SELECT of a statement that adds to the rollups what the rows of the CTE ``t`` contribute
    at ``grains``: the same rules as ``contributions``, set-based; it returns how many rows it wrote, and the ids of
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
            f"ON CONFLICT ({', '.join(REACH_KEY)}) WHERE NOT pending DO UPDATE SET n = {reach}.n + EXCLUDED.n"
        )
        stay_upsert = f"""ON CONFLICT ({", ".join(STAY_KEY)}) WHERE NOT pending
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
            SELECT r.kind, r.key, r.stage, gr.day_grain, {grain_start_sql("gr.day_grain", "r.d")} AS day,
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
            SELECT s.kind, s.key, s.stage, gr.day_grain, {grain_start_sql("gr.day_grain", "s.d")} AS day, s.bucket,
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


def history_sql(customers: str, flags: str) -> str:
    """The history of the customers ``customers`` yields (``customer_id``, ``source``), now and before a write:
    ``flags`` yields (``transition_id``, ``added``, ``closed``) for the transitions the write added or ended."""
    return f"""
        hist AS MATERIALIZED (
            SELECT st.id, st.customer_id, s.source, st.channel, st.at, st.ended_at,
                   {rank_sql("st.from_stage")} AS lo, {rank_sql("st.to_stage")} AS hi,
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
