"""The dashboard: every figure of the sections a user may see, for a period and the one before it, from the rollups
(reading.py), with the charts (series.py); cached until the next refresh."""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.cache import cache
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from feedback.figures import nps_score, percent

from .. import rollups
from ..models import RollupWatermark, TicketResponse
from .figures import FIGURES, SECTIONS, FigureDef
from .period import PRESETS, Period
from .reading import (
    DAY_FIELDS,
    POINTS_FIELDS,
    EdgeRange,
    _churned_q,
    _customer_requests,
    _day_sums,
    _edge_counts,
    _rate,
    _resolve,
    _running_q,
    _yen,
    ratio,
)
from .series import SERIES_SECTIONS, Series, _series

PREDICTED_LIFETIME_CAP_YEARS = 10
CACHE_SECONDS = 60 * 60  # the key changes with every refresh anyway


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
class Dashboard:
    period: Period
    previous: Period
    lapse_days: int
    figures: dict[str, Figure] = field(default_factory=dict)
    series: dict[str, Series] = field(default_factory=dict)
    tiers: list[tuple[str, int]] = field(default_factory=list)
    refreshed_at: dt.datetime | None = None  # when the rollups read were last brought up to date


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


def warm_dashboards(*, today: dt.date | None = None) -> int:
    """Compute and cache the preset periods' figures (right after a refresh, so no one waits for them)."""
    today = today or timezone.localdate()
    for key in PRESETS:
        dashboard(Period.preset(key, today=today), sections=SECTIONS, today=today, cached=True)
    return len(PRESETS)
