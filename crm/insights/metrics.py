"""The insights figures, each defined once: the dashboard, its CSV export, the drill-down lists and the
"about these figures" page read them from here.

Days are days in the business time zone (``settings.TIME_ZONE``); a period is a range of whole days, both ends
included. The figures are read from the rollups kept by crm/insights/rollups/ (``DailyRollup`` for sums of days,
``RollupEdge`` for distinct customers over any range, ``CohortCell`` for cohorts), never from the events, so the
dashboard costs the same whatever the data volume. ``customers_behind`` lists the customers a figure counts
from the raw tables, with the same definitions (a test holds each pair together).

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

import datetime as dt
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from customers.models import Customer
from feedback.figures import nps_score, percent
from feedback.models import ACTIVE_STATUSES, Survey, Ticket
from loyalty.models import LedgerEntry, Membership

from . import rollups
from .models import CohortCell, CustomerLapse, DailyRollup, RollupEdge, RollupWatermark, TicketResponse

# --- Periods ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date  # inclusive

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("a period ends on or after its start")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        """The period of the same length just before this one."""
        end = self.start - dt.timedelta(days=1)
        return Period(end - dt.timedelta(days=self.days - 1), end)

    @classmethod
    def last_days(cls, n: int, *, today: dt.date | None = None) -> Period:
        today = today or timezone.localdate()
        return cls(today - dt.timedelta(days=n - 1), today)

    @classmethod
    def preset(cls, key: str, *, today: dt.date | None = None) -> Period:
        """One of PRESETS: "7", "30", "90", "365" (last n days), "this_month" or "last_month"."""
        today = today or timezone.localdate()
        if key == "this_month":
            return cls(today.replace(day=1), today)
        if key == "last_month":
            last = today.replace(day=1) - dt.timedelta(days=1)
            return cls(last.replace(day=1), last)
        return cls.last_days(int(key), today=today)


# The dashboard's ready-made ranges; warm_dashboards() computes them after every refresh.
PRESETS = ["7", "30", "90", "365", "this_month", "last_month"]


# --- The registry ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FigureDef:
    key: str
    label: object
    section: str  # overview | customers | revenue | service | loyalty
    unit: str  # count | percent | yen | days | hours | score | points
    definition: object
    drill: bool = True  # every figure links to the customers it is computed over (customers_behind)
    higher_is_better: bool = True


FIGURES: list[FigureDef] = [
    FigureDef(
        "new_customers", _("New customers"), "overview", "count", _("Customers created in the period."), drill=True
    ),
    FigureDef(
        "active_customers",
        _("Active customers"),
        "overview",
        "count",
        _("Customers with at least one touchpoint in the period, not counting the messages Tsunagu sent by itself."),
        drill=True,
    ),
    FigureDef(
        "retention_rate",
        _("Retention rate"),
        "customers",
        "percent",
        _(
            "100 % minus the churn rate: the share of the customers active in the lapse window before the period "
            "who did not lapse during it."
        ),
    ),
    FigureDef(
        "churn_rate",
        _("Churn rate"),
        "customers",
        "percent",
        _(
            "Customers who lapsed during the period (no touchpoint for the lapse window) divided by the customers "
            "active in the lapse window just before the period."
        ),
        higher_is_better=False,
    ),
    FigureDef(
        "lapsed_customers",
        _("Lapsed customers"),
        "customers",
        "count",
        _("Customers active in the lapse window before the period whose lapse window ran out during the period."),
        drill=True,
        higher_is_better=False,
    ),
    FigureDef(
        "purchasers", _("Purchasers"), "customers", "count", _("Customers with a purchase in the period."), drill=True
    ),
    FigureDef(
        "repeat_purchase_rate",
        _("Repeat-purchase rate"),
        "customers",
        "percent",
        _(
            "Purchasers of the period who had bought before it or bought at least twice in it, divided by the "
            "purchasers."
        ),
        drill=True,
    ),
    FigureDef("orders", _("Orders"), "revenue", "count", _("Purchases recorded in the period.")),
    FigureDef(
        "revenue",
        _("Revenue"),
        "revenue",
        "yen",
        _("Purchase amounts minus refunded (returned) amounts in the period, in yen."),
    ),
    FigureDef(
        "average_order_value",
        _("Average order value"),
        "revenue",
        "yen",
        _("Purchase amounts in the period divided by the number of purchases."),
    ),
    FigureDef(
        "clv_historical",
        _("Customer lifetime value (to date)"),
        "revenue",
        "yen",
        _("Net revenue from the beginning to the end of the period, divided by the customers who purchased by then."),
    ),
    FigureDef(
        "clv_predicted",
        _("Customer lifetime value (predicted)"),
        "revenue",
        "yen",
        _(
            "Average order value × purchases per purchaser per year × expected lifetime (1 / yearly churn rate, "
            "at most 10 years), over the 365 days up to the end of the period."
        ),
    ),
    FigureDef(
        "nps",
        _("NPS"),
        "service",
        "score",
        _("Percent promoters (9–10) minus percent detractors (0–6) among the NPS answers of the period."),
    ),
    FigureDef("csat", _("CSAT"), "service", "percent", _("Share of the CSAT answers of the period scoring 4 or 5.")),
    FigureDef(
        "median_first_response",
        _("Median first response"),
        "service",
        "hours",
        _("Median time from opening to the first reply, in hours, for tickets opened in the period."),
        higher_is_better=False,
    ),
    FigureDef(
        "sla_compliance",
        _("SLA compliance"),
        "service",
        "percent",
        _(
            "First responses (tickets opened in the period) and resolutions (tickets resolved in the period) that "
            "met their deadline, out of those due."
        ),
    ),
    FigureDef(
        "open_tickets",
        _("Open tickets"),
        "service",
        "count",
        _("Tickets new, open or waiting now, as of the last refresh of these figures (the period does not apply)."),
        higher_is_better=False,
    ),
    FigureDef(
        "loyalty_members",
        _("Loyalty members"),
        "loyalty",
        "count",
        _("Memberships joined by the end of the period and not closed by then."),
        drill=True,
    ),
    FigureDef(
        "active_member_share",
        _("Active member share"),
        "loyalty",
        "percent",
        _(
            "Members with a points entry in the period (earned, spent, expired or adjusted), divided by everyone who "
            "was a member during the period (members at its end and those who left during it)."
        ),
    ),
    FigureDef(
        "points_issued",
        _("Points issued"),
        "loyalty",
        "points",
        _("Points earned, bonus and referral points given in the period."),
    ),
    FigureDef(
        "points_redeemed", _("Points redeemed"), "loyalty", "points", _("Points spent on rewards in the period.")
    ),
    FigureDef(
        "points_outstanding",
        _("Points outstanding"),
        "loyalty",
        "points",
        _("The sum of all members' balances at the end of the period: the points liability."),
        higher_is_better=False,
    ),
]
FIGURES_BY_KEY = {f.key: f for f in FIGURES}
SECTIONS = ["overview", "customers", "revenue", "service", "loyalty"]
SECTION_LABELS = {
    "overview": _("Overview"),
    "customers": _("Customers"),
    "revenue": _("Revenue"),
    "service": _("Service"),
    "loyalty": _("Loyalty"),
}
SECTION_PERMISSIONS = {
    "overview": "insights.view_dashboard",
    "customers": "insights.view_customer_figures",
    "revenue": "insights.view_revenue",
    "service": "insights.view_service_figures",
    "loyalty": "insights.view_customer_figures",
}
PREDICTED_LIFETIME_CAP_YEARS = 10
CACHE_SECONDS = 60 * 60  # the key changes with every refresh anyway


def sections_for(user) -> list[str]:
    """The dashboard sections ``user`` may see, in display order (none without ``insights.view_dashboard``)."""
    if not user.has_perm("insights.view_dashboard"):
        return []
    return [s for s in SECTIONS if user.has_perm(SECTION_PERMISSIONS[s])]


# --- Results ---------------------------------------------------------------------------------------


@dataclass
class Figure:
    definition: FigureDef
    value: int | float | Decimal | None
    previous: int | float | Decimal | None = None

    @property
    def change(self) -> float | None:
        if self.value is None or self.previous is None:
            return None
        return float(self.value) - float(self.previous)

    @property
    def change_percent(self) -> float | None:
        if self.change is None or not self.previous:
            return None
        return round(100 * self.change / abs(float(self.previous)), 1)


@dataclass
class Series:
    labels: list[str]
    datasets: dict[str, list[float | int | None]]


@dataclass
class Dashboard:
    period: Period
    previous: Period
    lapse_days: int
    figures: dict[str, Figure] = field(default_factory=dict)
    series: dict[str, Series] = field(default_factory=dict)
    tiers: list[tuple[str, int]] = field(default_factory=list)
    refreshed_at: dt.datetime | None = None  # when the rollups read were last brought up to date


@dataclass
class CohortRow:
    month: dt.date
    size: int
    counts: list[int | None]
    shares: list[float | None]


@dataclass
class Cohorts:
    months: list[dt.date]
    rows: list[CohortRow]


# --- Arithmetic ------------------------------------------------------------------------------------


def ratio(part, whole) -> float | None:
    return float(part) / float(whole) if whole else None


def _rate(part, whole) -> float | None:
    return percent(part, whole)


def _yen(amount) -> Decimal | None:
    return None if amount is None else Decimal(amount).quantize(Decimal("1"))


# --- Reading the rollups ---------------------------------------------------------------------------

DAY_FIELDS = [
    "new_customers",
    "touchpoints",
    "orders",
    "sales",
    "returns",
    "refunds",
    "revenue",
    "tickets_opened",
    "tickets_resolved",
    "first_responses_due",
    "first_responses_met",
    "resolutions_due",
    "resolutions_met",
    "csat_answers",
    "csat_satisfied",
    "csat_score_sum",
    "nps_answers",
    "nps_promoters",
    "nps_passives",
    "nps_detractors",
    "points_earned",
    "points_bonus",
    "points_redeemed",
    "points_expired",
    "points_adjusted",
    "members_joined",
    "members_closed",
]
POINTS_FIELDS = ["points_earned", "points_bonus", "points_redeemed", "points_expired", "points_adjusted"]


def _day_sums(ranges: dict[str, tuple[dt.date | None, dt.date]], fields: list[str]) -> dict[str, dict[str, object]]:
    """Sums of ``fields`` of DailyRollup over each named range of days (start None: from the beginning): one
    query, each range an index range of the daily rows."""
    table = DailyRollup._meta.db_table
    sums = ", ".join(f"COALESCE(SUM({f}), 0)" for f in fields)
    parts, params = [], []
    for i, (start, end) in enumerate(ranges.values()):
        parts.append(f"SELECT {i}, {sums} FROM {table} WHERE day BETWEEN %s AND %s")  # noqa: S608 - our names
        params += [start or rollups.BEFORE, end]
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        rows = {row[0]: row[1:] for row in cursor.fetchall()}
    return {name: dict(zip(fields, rows[i], strict=True)) for i, name in enumerate(ranges)}


@dataclass(frozen=True)
class EdgeRange:
    """RollupEdge rows of ``kind`` whose days fall in these bounds (inclusive)."""

    kind: str
    to_min: dt.date = rollups.BEFORE
    to_max: dt.date = rollups.AFTER
    from_min: dt.date = rollups.BEFORE
    from_max: dt.date = rollups.AFTER
    from_is_first: bool | None = None


def _edge_counts(requests: dict[str, list[EdgeRange]]) -> dict[str, int]:
    """Σn of RollupEdge for each named list of ranges: one query, each range an index range of its own."""
    if not requests:
        return {}
    table = RollupEdge._meta.db_table
    columns, params = [], []
    for ranges in requests.values():
        terms = []
        for r in ranges:
            first = "" if r.from_is_first is None else f" AND {'' if r.from_is_first else 'NOT '}from_is_first"
            terms.append(
                f"(SELECT COALESCE(SUM(n), 0) FROM {table} WHERE kind = %s AND to_day BETWEEN %s AND %s "  # noqa: S608
                f"AND from_day BETWEEN %s AND %s{first})"
            )
            params += [r.kind, r.to_min, r.to_max, r.from_min, r.from_max]
        columns.append(" + ".join(terms))
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(columns), params)
        row = cursor.fetchone()
    return {name: int(value) for name, value in zip(requests, row, strict=True)}


def _kind(kind: str, start: dt.date, end: dt.date) -> str:
    """The short edges answer for ranges of up to rollups.SHORT days, reading far fewer rows."""
    return kind + rollups.SHORT_SUFFIX if (end - start).days + 1 <= rollups.SHORT else kind


DAY = dt.timedelta(days=1)


def _active_q(kind: str, start: dt.date, end: dt.date) -> list[EdgeRange]:
    """Customers with a day of ``kind`` in [start, end]: the one edge by which each enters the range."""
    return [EdgeRange(_kind(kind, start, end), to_min=start, to_max=end, from_max=start - DAY)]


def _repeat_q(start: dt.date, end: dt.date) -> list[EdgeRange]:
    """Purchasers who bought before the range, and those whose first two purchases are both in it."""
    kind = _kind(rollups.PURCHASE, start, end)
    return [
        EdgeRange(kind, to_min=start, to_max=end, from_min=rollups.BEFORE + DAY, from_max=start - DAY),
        EdgeRange(kind, to_min=start, to_max=end, from_min=start, from_is_first=True),
    ]


def _running_q(kind: str, day: dt.date) -> list[EdgeRange]:
    """A running count's rows up to ``day`` (rollups.LIVE_IN…): the "+" rows minus the "-" rows."""
    return [EdgeRange(kind, to_max=day)]


def _churned_q(period: Period, lapse_days: int, today: dt.date) -> list[EdgeRange] | None:
    """Lapse rows of customers live at the period's start whose lapse day falls in the period (and has come)."""
    first = period.start - dt.timedelta(days=lapse_days)
    last = min(period.start - dt.timedelta(days=1), period.end - dt.timedelta(days=lapse_days))
    last = min(last, today - dt.timedelta(days=lapse_days))
    if last < first:
        return None
    return [EdgeRange(rollups.LAPSE, from_min=first, from_max=last)]


def _customer_requests(prefix: str, period: Period, lapse_days: int, today: dt.date) -> dict[str, list[EdgeRange]]:
    """The edge sums behind a period's distinct-customer figures. Keys ending in "+" and "-" are running counts,
    subtracted by ``_resolve``: a 365-day period reads them (one row per day) rather than the full edges."""
    requests = {
        f"{prefix}live+": _running_q(rollups.LIVE_IN, period.start),
        f"{prefix}live-": _running_q(rollups.LIVE_OUT, period.start),
    }
    if period.days == rollups.YEAR:
        for name, kind in (("active", rollups.ACTIVITY), ("purchasers", rollups.PURCHASE), ("ledger", rollups.LEDGER)):
            plus, minus = rollups.YEAR_KINDS[kind]
            requests[f"{prefix}{name}+"] = _running_q(plus, period.end)
            requests[f"{prefix}{name}-"] = _running_q(minus, period.end)
        requests[f"{prefix}single+"] = _running_q(rollups.SINGLE_IN, period.end)
        requests[f"{prefix}single-"] = _running_q(rollups.SINGLE_OUT, period.end)
    else:
        requests[f"{prefix}active"] = _active_q(rollups.ACTIVITY, period.start, period.end)
        requests[f"{prefix}purchasers"] = _active_q(rollups.PURCHASE, period.start, period.end)
        requests[f"{prefix}repeat"] = _repeat_q(period.start, period.end)
        requests[f"{prefix}ledger"] = _active_q(rollups.LEDGER, period.start, period.end)
    churned = _churned_q(period, lapse_days, today)
    if churned is not None:
        requests[f"{prefix}churned"] = churned
    return requests


def _resolve(edges: dict[str, int]) -> dict[str, int]:
    """Running counts ("+" minus "-"), and repeat purchasers = purchasers - single purchasers."""
    resolved = {k: v for k, v in edges.items() if not k.endswith(("+", "-"))}
    for key, value in edges.items():
        if key.endswith("+"):
            resolved[key[:-1]] = value - edges[key[:-1] + "-"]
    for key in [k for k in resolved if k.endswith("single")]:
        prefix = key[: -len("single")]
        resolved[f"{prefix}repeat"] = resolved[f"{prefix}purchasers"] - resolved.pop(key)
    return resolved


def dashboard(
    period: Period, *, sections: Iterable[str], today: dt.date | None = None, cached: bool = False
) -> Dashboard:
    """Every figure of the sections asked for, with the previous period's, and the charts.

    Five queries: the last refresh (when, open tickets, tiers), daily sums, edge sums, the medians, the chart's
    days. Everything read changes only when the rollups are refreshed, so with ``cached`` the numbers of every
    section are kept in the cache under the time of the last refresh (one entry serves every role; only the
    sections asked for are returned): until the next refresh the same period costs that first query, and
    warm_dashboards() computes the preset periods right after each refresh.
    """
    today = today or timezone.localdate()
    sections = [s for s in SECTIONS if s in set(sections)]
    lapse_days = rollups.lapse_days()
    previous = period.previous()
    board = Dashboard(period=period, previous=previous, lapse_days=lapse_days)
    if not sections:
        return board
    # 1. What the last refresh found "now": open tickets and the tier distribution; and when it ran.
    watermark = RollupWatermark.objects.filter(pk=1).values("refreshed_at", "open_tickets", "tiers").first() or {}
    refreshed = watermark.get("refreshed_at")
    board.refreshed_at = refreshed
    cached = cached and refreshed is not None
    key = f"crm:dashboard:{refreshed and refreshed.isoformat()}:{period.start}:{period.end}:{today}:{lapse_days}"
    data = cache.get(key) if cached else None
    if data is None:
        data = _figures_data(period, previous, SECTIONS if cached else sections, lapse_days, today, watermark)
        if cached:
            cache.set(key, data, CACHE_SECONDS)
    values, series = data
    board.series = {
        name: Series(labels, datasets)
        for name, (labels, datasets) in series.items()
        if SERIES_SECTIONS[name] in sections
    }
    for f in FIGURES:
        if f.section in sections and f.key in values["cur"]:
            board.figures[f.key] = Figure(f, values["cur"][f.key], values["prev"].get(f.key))
    if "loyalty" in sections:
        board.tiers = [(name or str(_("No tier")), n) for name, n in watermark.get("tiers") or []]
    return board


def _figures_data(
    period: Period, previous: Period, sections: list[str], lapse_days: int, today: dt.date, watermark: dict
) -> tuple[dict, dict]:
    """The figures' values for both periods and the charts' data, as plain (cacheable) data: four queries."""
    year = Period(period.end - dt.timedelta(days=364), period.end)
    previous_year = Period(previous.end - dt.timedelta(days=364), previous.end)

    # 2. Sums of days: this period, the previous one, the year to the period's end, and everything to each end.
    sums = _day_sums(
        {
            "cur": (period.start, period.end),
            "prev": (previous.start, previous.end),
            "year": (year.start, year.end),
            "prevyear": (previous_year.start, previous_year.end),
            "todate": (None, period.end),
            "prevtodate": (None, previous.end),
        },
        DAY_FIELDS,
    )
    # 3. Distinct customers from the edges, for both periods and the year.
    requests: dict[str, list[EdgeRange]] = {}
    if {"overview", "customers", "revenue", "loyalty"} & set(sections):
        requests |= _customer_requests("cur_", period, lapse_days, today)
        requests |= _customer_requests("prev_", previous, lapse_days, today)
    if "revenue" in sections:
        for prefix, p in (("year_", year), ("prevyear_", previous_year)):
            requests[f"{prefix}live+"] = _running_q(rollups.LIVE_IN, p.start)
            requests[f"{prefix}live-"] = _running_q(rollups.LIVE_OUT, p.start)
            requests[f"{prefix}purchasers+"] = _running_q(rollups.YEAR_IN, p.end)
            requests[f"{prefix}purchasers-"] = _running_q(rollups.YEAR_OUT, p.end)
            churned = _churned_q(p, lapse_days, today)
            if churned is not None:
                requests[f"{prefix}churned"] = churned
        first_purchase = {"from_min": rollups.BEFORE, "from_max": rollups.BEFORE}
        requests["buyers_todate"] = [EdgeRange(rollups.PURCHASE, to_max=period.end, **first_purchase)]
        requests["buyers_prevtodate"] = [EdgeRange(rollups.PURCHASE, to_max=previous.end, **first_purchase)]
    edges = _resolve(_edge_counts(requests))

    values: dict[str, tuple] = {}
    for name, totals in (("cur", sums["cur"]), ("prev", sums["prev"])):
        v = {}
        v["new_customers"] = totals["new_customers"]
        v["active_customers"] = edges.get(f"{name}_active")
        live, churned = edges.get(f"{name}_live", 0), edges.get(f"{name}_churned", 0)
        v["churn_rate"] = _rate(churned, live)
        v["retention_rate"] = None if v["churn_rate"] is None else round(100 - v["churn_rate"], 1)
        v["lapsed_customers"] = churned
        v["purchasers"] = edges.get(f"{name}_purchasers")
        v["repeat_purchase_rate"] = _rate(edges.get(f"{name}_repeat", 0), edges.get(f"{name}_purchasers", 0))
        v["orders"] = totals["orders"]
        v["revenue"] = _yen(totals["revenue"])
        v["average_order_value"] = _yen(ratio(totals["sales"], totals["orders"]))
        todate = sums["todate" if name == "cur" else "prevtodate"]
        buyers = edges.get("buyers_todate" if name == "cur" else "buyers_prevtodate", 0)
        v["clv_historical"] = _yen(ratio(todate["revenue"], buyers))
        v["nps"] = nps_score(totals["nps_promoters"], totals["nps_detractors"], totals["nps_answers"])
        v["csat"] = percent(totals["csat_satisfied"], totals["csat_answers"])
        v["sla_compliance"] = percent(
            totals["first_responses_met"] + totals["resolutions_met"],
            totals["first_responses_due"] + totals["resolutions_due"],
        )
        members = todate["members_joined"] - todate["members_closed"]
        v["loyalty_members"] = members
        # Out of everyone who was a member during the period: those at its end and those who left during it.
        v["active_member_share"] = _rate(edges.get(f"{name}_ledger", 0), members + totals["members_closed"])
        v["points_issued"] = totals["points_earned"] + totals["points_bonus"]
        v["points_redeemed"] = -totals["points_redeemed"]
        v["points_outstanding"] = sum(todate[f] for f in POINTS_FIELDS)
        values[name] = v
    if "revenue" in sections:
        values["cur"]["clv_predicted"] = predicted_clv(sums["year"], edges, "year_")
        values["prev"]["clv_predicted"] = predicted_clv(sums["prevyear"], edges, "prevyear_")

    if "service" in sections:
        # 4. Median first response of each period's tickets (one pass over the two periods); 4. open tickets now.
        medians = median_first_response_hours(period, previous)
        values["cur"]["median_first_response"], values["prev"]["median_first_response"] = medians
        values["cur"]["open_tickets"] = watermark.get("open_tickets")
        values["prev"]["open_tickets"] = None

    # 5. The days of the period, for the charts.
    series = {name: (item.labels, item.datasets) for name, item in _series(period, sections).items()}
    return values, series


def predicted_clv(year: dict, edges: dict, prefix: str = "year_") -> Decimal | None:
    """AOV × purchases per purchaser per year × expected lifetime (1 / yearly churn, capped), over the year."""
    aov = ratio(year["sales"], year["orders"])
    frequency = ratio(year["orders"], edges.get(f"{prefix}purchasers", 0))
    churn = ratio(edges.get(f"{prefix}churned", 0), edges.get(f"{prefix}live", 0))
    if aov is None or frequency is None or churn is None:
        return None
    lifetime = PREDICTED_LIFETIME_CAP_YEARS if churn == 0 else min(1 / churn, PREDICTED_LIFETIME_CAP_YEARS)
    return _yen(aov * frequency * lifetime)


def median_first_response_hours(*periods: Period) -> list[float | None]:
    """The median first response, in hours, of the tickets opened in each period (rollups.TicketResponse, kept
    with the tickets' days; the definition of feedback.figures): one query on PostgreSQL."""
    if connection.vendor != "postgresql":
        medians = []
        for p in periods:
            seconds = list(
                TicketResponse.objects.filter(day__gte=p.start, day__lte=p.end).values_list("seconds", flat=True)
            )
            medians.append(statistics.median(seconds) if seconds else None)
    else:
        table, columns, params = TicketResponse._meta.db_table, [], []
        for p in periods:
            columns.append("PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY seconds) FILTER (WHERE day BETWEEN %s AND %s)")
            params += [p.start, p.end]
        where = " OR ".join(["day BETWEEN %s AND %s"] * len(periods))
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {', '.join(columns)} FROM {table} WHERE {where}", params + params)  # noqa: S608
            medians = list(cursor.fetchone())
    return [None if m is None else round(m / 3600, 1) for m in medians]


def _buckets(period: Period) -> tuple[str, list[tuple[str, dt.date, dt.date]]]:
    """Chart buckets: days up to 62 days, weeks (Monday) up to a year and a half, months beyond."""
    if period.days <= 62:
        return "day", [(d.isoformat(), d, d) for d in _days(period.start, period.end)]
    buckets = []
    if period.days <= 550:
        start = period.start - dt.timedelta(days=period.start.weekday())
        while start <= period.end:
            end = start + dt.timedelta(days=6)
            buckets.append((start.isoformat(), max(start, period.start), min(end, period.end)))
            start = end + dt.timedelta(days=1)
        return "week", buckets
    start = period.start.replace(day=1)
    while start <= period.end:
        nxt = _add_months(start, 1)
        buckets.append((start.strftime("%Y-%m"), max(start, period.start), min(nxt - dt.timedelta(days=1), period.end)))
        start = nxt
    return "month", buckets


def _days(start: dt.date, end: dt.date) -> Iterable[dt.date]:
    d = start
    while d <= end:
        yield d
        d += dt.timedelta(days=1)


def _add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    return dt.date(day.year + month // 12, month % 12 + 1, 1)


SERIES_SECTIONS = {"activity": "overview", "revenue": "revenue", "nps_csat": "service", "points": "loyalty"}


def warm_dashboards(*, today: dt.date | None = None) -> int:
    """Compute and cache the preset periods' figures (right after a refresh, so no one waits for them)."""
    today = today or timezone.localdate()
    for key in PRESETS:
        dashboard(Period.preset(key, today=today), sections=SECTIONS, today=today, cached=True)
    return len(PRESETS)


def _series(period: Period, sections: list[str]) -> dict[str, Series]:
    rows = {
        r["day"]: r
        for r in DailyRollup.objects.filter(day__gte=period.start, day__lte=period.end).values("day", *DAY_FIELDS)
    }
    _grain, buckets = _buckets(period)
    labels = [label for label, _s, _e in buckets]

    def total(f: str, start: dt.date, end: dt.date):
        return sum((rows[d][f] for d in _days(start, end) if d in rows), 0)

    series: dict[str, Series] = {}
    if "overview" in sections:
        series["activity"] = Series(
            labels,
            {
                "new_customers": [total("new_customers", s, e) for _l, s, e in buckets],
                "touchpoints": [total("touchpoints", s, e) for _l, s, e in buckets],
            },
        )
    if "revenue" in sections:
        series["revenue"] = Series(
            labels,
            {
                "revenue": [float(total("revenue", s, e)) for _l, s, e in buckets],
                "orders": [total("orders", s, e) for _l, s, e in buckets],
            },
        )
    if "service" in sections:
        series["nps_csat"] = Series(
            labels,
            {
                "nps": [
                    nps_score(total("nps_promoters", s, e), total("nps_detractors", s, e), total("nps_answers", s, e))
                    for _l, s, e in buckets
                ],
                "csat": [percent(total("csat_satisfied", s, e), total("csat_answers", s, e)) for _l, s, e in buckets],
            },
        )
    if "loyalty" in sections:
        series["points"] = Series(
            labels,
            {
                "issued": [total("points_earned", s, e) + total("points_bonus", s, e) for _l, s, e in buckets],
                "redeemed": [-total("points_redeemed", s, e) for _l, s, e in buckets],
            },
        )
    return series


# --- Cohorts ---------------------------------------------------------------------------------------


def cohorts(*, end: dt.date | None = None, months: int = 12) -> Cohorts:
    """The ``months`` monthly cohorts (by first purchase) up to ``end``'s month, offsets 0..months-1: one query."""
    end = end or timezone.localdate()
    last = end.replace(day=1)
    cohort_months = [_add_months(last, -i) for i in range(months - 1, -1, -1)]
    cells = {
        (c.cohort_month, c.month_offset): c.customers
        for c in CohortCell.objects.filter(
            cohort_month__gte=cohort_months[0], cohort_month__lte=last, month_offset__lt=months
        )
    }
    rows = []
    for month in cohort_months:
        size = cells.get((month, 0), 0)
        reached = (last.year - month.year) * 12 + last.month - month.month
        counts = [cells.get((month, o), 0) if o <= reached else None for o in range(months)]
        shares = [None if c is None else ratio(100 * c, size) for c in counts]
        shares = [None if s is None else round(s, 1) for s in shares]
        rows.append(CohortRow(month=month, size=size, counts=counts, shares=shares))
    return Cohorts(months=cohort_months, rows=rows)


# --- The customers behind a figure (raw tables) ----------------------------------------------------


# Figures computed over the same customers as another figure: a rate or an amount links to those it is made of.
SAME_CUSTOMERS = {
    "churn_rate": "lapsed_customers",
    "orders": "purchasers",
    "revenue": "purchasers",
    "average_order_value": "purchasers",
    "clv_predicted": "clv_historical",
    "median_first_response": "sla_compliance",
}


def customers_behind(key: str, period: Period, *, today: dt.date | None = None) -> QuerySet[Customer]:
    """The customers ``key`` counts in ``period``, from the raw tables, newest id first (keyset pagination).

    A count links to the customers it counts; a rate or an amount to the customers it is computed over: revenue,
    orders and average order value to the period's purchasers, retention to the customers retained, churn to the
    lapsed ones, NPS/CSAT to those who answered, response times and SLA compliance to the customers whose tickets
    were opened or resolved in the period, the loyalty figures to the members concerned.
    """
    figure = FIGURES_BY_KEY[key]
    if not figure.drill:
        raise KeyError(key)
    key = SAME_CUSTOMERS.get(key, key)
    today = today or timezone.localdate()
    start, end = rollups.day_bounds(period.start, period.end)
    customers = Customer.objects.all()
    activity = rollups.activity_touchpoints()
    purchases = rollups.purchase_touchpoints()
    in_period = {"occurred_at__gte": start, "occurred_at__lt": end}
    if key == "new_customers":
        customers = customers.filter(created_at__gte=start, created_at__lt=end)
    elif key == "active_customers":
        customers = customers.filter(Exists(activity.filter(customer=OuterRef("pk"), **in_period)))
    elif key == "purchasers":
        customers = customers.filter(Exists(purchases.filter(customer=OuterRef("pk"), **in_period)))
    elif key == "repeat_purchase_rate":
        counted = Subquery(
            purchases.filter(customer=OuterRef("pk"), occurred_at__lt=end)
            .order_by()
            .values("customer")
            .annotate(n=Count("pk"))
            .values("n")[:1],
            output_field=IntegerField(),
        )
        customers = (
            customers.filter(Exists(purchases.filter(customer=OuterRef("pk"), **in_period)))
            .annotate(_purchases=Coalesce(counted, Value(0)))
            .filter(_purchases__gte=2)
        )
    elif key == "lapsed_customers":
        customers = customers.filter(pk__in=_lapsed_ids(period, today))
    elif key == "retention_rate":
        # Live at the start (active in the lapse window just before the period) and not lapsed during it.
        window_start, window_end = rollups.day_bounds(
            period.start - dt.timedelta(days=rollups.lapse_days()), period.start - dt.timedelta(days=1)
        )
        live = activity.filter(customer=OuterRef("pk"), occurred_at__gte=window_start, occurred_at__lt=window_end)
        customers = customers.filter(Exists(live)).exclude(pk__in=_lapsed_ids(period, today))
    elif key == "clv_historical":
        customers = customers.filter(Exists(purchases.filter(customer=OuterRef("pk"), occurred_at__lt=end)))
    elif key in ("nps", "csat"):
        answers = Survey.objects.filter(
            customer=OuterRef("pk"), kind=key, answered_at__gte=start, answered_at__lt=end, score__isnull=False
        )
        customers = customers.filter(Exists(answers))
    elif key == "sla_compliance":
        tickets = Ticket.objects.filter(customer=OuterRef("pk")).filter(
            Q(created_at__gte=start, created_at__lt=end) | Q(resolved_at__gte=start, resolved_at__lt=end)
        )
        customers = customers.filter(Exists(tickets))
    elif key == "open_tickets":
        customers = customers.filter(Exists(Ticket.objects.filter(customer=OuterRef("pk"), status__in=ACTIVE_STATUSES)))
    elif key == "loyalty_members":
        members = Membership.objects.filter(customer=OuterRef("pk"), joined_at__lt=end).filter(
            Q(closed_at__isnull=True) | Q(closed_at__gte=end)
        )
        customers = customers.filter(Exists(members))
    elif key in ("active_member_share", "points_issued", "points_redeemed"):
        kinds = LedgerEntry.Kind
        entries = LedgerEntry.objects.filter(
            membership__customer=OuterRef("pk"), created_at__gte=start, created_at__lt=end
        )
        if key == "points_issued":
            entries = entries.filter(kind__in=[kinds.EARN, kinds.BONUS, kinds.REFERRAL])
        elif key == "points_redeemed":
            entries = entries.filter(kind=kinds.REDEEM)
        customers = customers.filter(Exists(entries))
    elif key == "points_outstanding":
        # The members holding points at the period's end: their ledger up to then sums to more than zero.
        held = Subquery(
            LedgerEntry.objects.filter(membership__customer=OuterRef("pk"), created_at__lt=end)
            .order_by()
            .values("membership__customer")
            .annotate(total=Sum("points"))
            .values("total")[:1],
            output_field=IntegerField(),
        )
        customers = customers.filter(Exists(Membership.objects.filter(customer=OuterRef("pk")))).annotate(_held=held)
        customers = customers.filter(_held__gt=0)
    else:  # pragma: no cover - every figure of the registry is handled above (a test walks them all)
        raise KeyError(key)
    return customers.order_by("-id")


VALUE_LABELS = {
    "nps": _("Score and comment"),
    "csat": _("Score and comment"),
    "purchasers": _("Spent in the period"),
    "points_issued": _("Points issued"),
    "points_redeemed": _("Points redeemed"),
}


def figure_values(key: str, period: Period, customer_ids: list[int]) -> tuple[str, dict[int, str]] | None:
    """What each of ``customer_ids`` (a drill-down's page) counts for in figure ``key``: the label of that column
    and the text of each cell; None for a figure whose customers carry no value of their own (new customers, say).
    One query for the page."""
    key = SAME_CUSTOMERS.get(key, key)
    if key not in VALUE_LABELS or not customer_ids:
        return None
    start, end = rollups.day_bounds(period.start, period.end)
    values: dict[int, str] = {}
    if key in ("nps", "csat"):
        answers = (
            Survey.objects.filter(customer_id__in=customer_ids, kind=key, score__isnull=False)
            .filter(answered_at__gte=start, answered_at__lt=end)
            .order_by("customer_id", "-answered_at", "-id")
            .values_list("customer_id", "score", "comment")
        )
        for customer_id, score, comment in answers:  # the latest answer of each (the first in this order)
            if customer_id not in values:
                comment = " ".join((comment or "").split())
                values[customer_id] = (
                    f"{score} · {comment[:80]}{'…' if len(comment) > 80 else ''}" if comment else str(score)
                )
    elif key == "purchasers":
        spent = (
            rollups.purchase_touchpoints()
            .filter(customer_id__in=customer_ids, occurred_at__gte=start, occurred_at__lt=end)
            .values("customer_id")
            .annotate(orders=Count("pk"), total=Sum("amount", filter=Q(currency="JPY"), default=Decimal(0)))
            .values_list("customer_id", "orders", "total")
        )
        for customer_id, orders, total in spent:
            values[customer_id] = ngettext(
                "%(amount)s JPY · %(orders)s order", "%(amount)s JPY · %(orders)s orders", orders
            ) % {
                "amount": f"{total:,.0f}",
                "orders": f"{orders:,}",
            }
    else:
        kinds = LedgerEntry.Kind
        entries = LedgerEntry.objects.filter(
            membership__customer_id__in=customer_ids, created_at__gte=start, created_at__lt=end
        )
        if key == "points_issued":
            entries = entries.filter(kind__in=[kinds.EARN, kinds.BONUS, kinds.REFERRAL])
        else:
            entries = entries.filter(kind=kinds.REDEEM)
        totals = entries.values("membership__customer_id").annotate(points=Sum("points")).order_by()
        for row in totals.values_list("membership__customer_id", "points"):
            values[row[0]] = f"{abs(row[1]):,}"
    return str(VALUE_LABELS[key]), values


def _lapsed_ids(period: Period, today: dt.date) -> QuerySet:
    """Customers whose last activity before the period, within the lapse window, was not followed by another
    within the lapse window, their lapse day being in the period and not in the future (see ``_churned_q``): an
    index range of CustomerLapse, which the rollups keep."""
    lapse_days = rollups.lapse_days()
    first = period.start - dt.timedelta(days=lapse_days)
    last = min(period.start - dt.timedelta(days=1), period.end - dt.timedelta(days=lapse_days))
    last = min(last, today - dt.timedelta(days=lapse_days))
    return CustomerLapse.objects.filter(last_day__gte=first, last_day__lte=last).values("customer_id")
