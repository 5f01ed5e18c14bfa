"""The insights figures, each defined once: the dashboard, its CSV export, the drill-down lists and the
"about these figures" page read them from here.

Days are days in the business time zone (``settings.TIME_ZONE``); a period is a range of whole days, both ends
included. The figures are read from the rollups kept by crm/insights/rollups/ (``DailyRollup`` for sums of days,
``RollupEdge`` for distinct customers over any range, ``CohortCell`` for cohorts), never from the events, so the
dashboard costs the same whatever the data volume. ``customers_behind`` lists the customers a figure counts
from the raw tables, with the same definitions (a test holds each pair together).

The package: period.py (periods and presets), figures.py (the registry: each figure's definition, with the query
of its customers from drill_queries.py), reading.py (the rollups read), dashboard.py (the figures), series.py
(the charts), cohorts.py, drilldown.py (the customers behind a figure and their values).

Definitions:
- Activity: a touchpoint, except the messages Tsunagu sends by itself (outbound, recorded by the system; the
  rule of touchpoints.services.moves_journey). Purchase: a touchpoint of a type of kind "purchase"; return: of
  kind "return". Amounts in JPY only (the shop's currency); amounts in another currency are left out of
  revenue, their orders still count.
- New customers: customers created in the period. Active customers: customers with an activity in the period.
- Lapsed: a customer lapses N days (``TSUNAGU_LAPSE_DAYS``, 180) after an activity not followed by another
  within N days. Live at the start of a period: customers with an activity in the N days before it. Churned
  (the "lapsed customers" figure): live customers who lapsed during the period. Churn rate = churned / live at
  start; retention rate = 100 % − churn rate.
- Purchasers: customers with a purchase in the period. Repeat purchasers: purchasers who had bought before
  the period, or bought at least twice in it; repeat-purchase rate = repeat purchasers / purchasers.
- Orders: purchases in the period. Revenue: purchase amounts minus return amounts (refunds) in the period.
  Average order value: purchase amounts / orders in the period (returns not deducted).
- CLV (historical): net revenue since the beginning up to the period's end / customers who purchased by then.
- CLV (predicted): average order value × purchases per purchaser per year × expected lifetime in years, over
  the 365 days up to the period's end; expected lifetime = 1 / yearly churn rate, at most 10 years.
- NPS, CSAT, SLA compliance: as feedback/figures.py (answers and tickets of the period); SLA compliance counts
  first responses and resolutions together. Median first response: hours, tickets opened in the period.
  Open tickets: now, that is at the last refresh of the rollups (every TSUNAGU_ROLLUP_SECONDS, 5 minutes).
- Loyalty members: memberships joined by the period's end and not closed by then. Active member share: members
  (counted by customer) with a ledger entry in the period / everyone who was a member during it (the members at
  its end plus those who left during it). Points issued: earned, bonus and
  referral points in the period; redeemed: points spent on rewards; outstanding: the sum of all balances at the
  period's end (every ledger entry up to then, expiries and adjustments included).

A figure whose division would be by zero is ``None`` (shown as "—").
"""

from __future__ import annotations

from .cohorts import CohortRow, Cohorts, cohorts
from .dashboard import (
    CACHE_SECONDS,
    PREDICTED_LIFETIME_CAP_YEARS,
    Dashboard,
    Figure,
    dashboard,
    median_first_response_hours,
    predicted_clv,
    warm_dashboards,
)
from .drill_queries import Scope
from .drilldown import VALUE_LABELS, customers_behind, figure_values
from .figures import (
    FIGURES,
    FIGURES_BY_KEY,
    SAME_CUSTOMERS,
    SECTION_LABELS,
    SECTION_PERMISSIONS,
    SECTIONS,
    FigureDef,
    sections_for,
)
from .period import PRESETS, Period
from .reading import (
    DAY_FIELDS,
    POINTS_FIELDS,
    EdgeRange,
    _active_q,
    _customer_requests,
    _edge_counts,
    _repeat_q,
    _resolve,
    _running_q,
    ratio,
)
from .series import SERIES_SECTIONS, Series

__all__ = [
    "CACHE_SECONDS",
    "DAY_FIELDS",
    "FIGURES",
    "FIGURES_BY_KEY",
    "POINTS_FIELDS",
    "PREDICTED_LIFETIME_CAP_YEARS",
    "PRESETS",
    "SAME_CUSTOMERS",
    "SECTIONS",
    "SECTION_LABELS",
    "SECTION_PERMISSIONS",
    "SERIES_SECTIONS",
    "VALUE_LABELS",
    "CohortRow",
    "Cohorts",
    "Dashboard",
    "EdgeRange",
    "Figure",
    "FigureDef",
    "Period",
    "Scope",
    "Series",
    "_active_q",
    "_customer_requests",
    "_edge_counts",
    "_repeat_q",
    "_resolve",
    "_running_q",
    "cohorts",
    "customers_behind",
    "dashboard",
    "figure_values",
    "median_first_response_hours",
    "predicted_clv",
    "ratio",
    "sections_for",
    "warm_dashboards",
]
