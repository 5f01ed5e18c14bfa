"""The insights rollups: kept up to date incrementally, rebuilt from scratch on demand, always equal.

- ``DailyRollup``: one row per business day of summable counts (new customers, activity, orders, revenue,
  tickets, answers, points, memberships), each recomputed from the raw tables (delete + insert: idempotent).
- ``RollupEdge``: for each customer, the succession of their activity days, purchase days (one per purchase)
  and loyalty-entry days, as edges (BEFORE -> d1), (d1 -> d2), …, (dk -> AFTER), aggregated; plus the
  "lapse" rows (last activity day -> the day the customer lapsed, AFTER while open). crm/insights/metrics/ turns
  them into distinct-customer counts over any range of days.
- ``CohortCell``: customers by month of first purchase and months since.
- ``CustomerRollupState``: what each customer currently contributes, so a refresh recomputes only the
  customers touched since the last one and applies the difference.

``refresh()`` (the periodic task, every TSUNAGU_ROLLUP_SECONDS) finds what changed since the watermark, less a
safety margin for transactions that commit late (recomputing twice is harmless): touchpoints and ledger entries
by ``created_at`` (indexed by the crm migration), customers by ``created_at``, answers by ``answered_at`` or
``created_at``, memberships by ``updated_at`` (and a reopened one by the joins and closings no longer adding up),
tickets by ``updated_at`` or a deadline just passed (the SLA job flags breaches without touching ``updated_at``;
a ticket's days are recomputed from its opening day to today, since reopening clears its resolution day), and
the customers and days that crm/insights/receivers.py recorded on merges and deletions. Not seen: a touchpoint deleted
on its own (nothing deletes one but a customer's deletion) and a membership's joining time edited by hand;
``manage.py rollups_rebuild`` puts any such drift right.
``rebuild()`` recomputes everything (set-based SQL on PostgreSQL; the per-customer code elsewhere).

The package: definitions.py (kinds, sentinel days, what counts), states.py (per-customer contributions),
daily.py (the daily rows and response times), from_scratch.py (``rebuild``), incremental.py (``refresh``),
dirty.py (``mark_dirty``).
"""

from __future__ import annotations

from .daily import ALL_FIELDS, SOURCE_FIELDS, SOURCES, recompute_days, refresh_responses, tier_distribution
from .definitions import (
    ACTIVITY,
    ACTIVITY_SQL,
    AFTER,
    BEFORE,
    CHUNK,
    LAPSE,
    LEDGER,
    LIVE_IN,
    LIVE_OUT,
    PURCHASE,
    SAFETY_MARGIN,
    SHORT,
    SHORT_SUFFIX,
    SINGLE_IN,
    SINGLE_OUT,
    YEAR,
    YEAR_IN,
    YEAR_KINDS,
    YEAR_OUT,
    activity_touchpoints,
    day_bounds,
    lapse_days,
    purchase_touchpoints,
)
from .dirty import mark_dirty
from .from_scratch import RunResult, rebuild, vacuum
from .incremental import refresh
from .states import State, compute_states, contributions, lapse_days_of, refresh_customers

__all__ = [
    "ACTIVITY",
    "ACTIVITY_SQL",
    "AFTER",
    "ALL_FIELDS",
    "BEFORE",
    "CHUNK",
    "LAPSE",
    "LEDGER",
    "LIVE_IN",
    "LIVE_OUT",
    "PURCHASE",
    "SAFETY_MARGIN",
    "SHORT",
    "SHORT_SUFFIX",
    "SINGLE_IN",
    "SINGLE_OUT",
    "SOURCES",
    "SOURCE_FIELDS",
    "YEAR",
    "YEAR_IN",
    "YEAR_KINDS",
    "YEAR_OUT",
    "RunResult",
    "State",
    "activity_touchpoints",
    "compute_states",
    "contributions",
    "day_bounds",
    "lapse_days",
    "lapse_days_of",
    "mark_dirty",
    "purchase_touchpoints",
    "rebuild",
    "recompute_days",
    "refresh",
    "refresh_customers",
    "refresh_responses",
    "tier_distribution",
    "vacuum",
]
