"""The registry: each insights figure defined once, with its section, unit, definition and the query of the customers
it is computed over (its drill-down), and which roles see which sections."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from customers.models import Customer

from . import drill_queries
from .drill_queries import Scope


@dataclass(frozen=True)
class FigureDef:
    key: str
    label: object
    section: str  # overview | customers | revenue | service | loyalty
    unit: str  # count | percent | yen | days | hours | score | points
    definition: object
    # The customers the figure is computed over, from the raw tables (drill_queries), for its drill-down list;
    # None for a figure without one.
    customers: Callable[[Scope], QuerySet[Customer]] | None = None
    higher_is_better: bool = True

    @property
    def drill(self) -> bool:
        return self.customers is not None


FIGURES: list[FigureDef] = [
    FigureDef(
        "new_customers",
        _("New customers"),
        "overview",
        "count",
        _("Customers created in the period."),
        customers=drill_queries.new_customers,
    ),
    FigureDef(
        "active_customers",
        _("Active customers"),
        "overview",
        "count",
        _("Customers with at least one touchpoint in the period, not counting the messages Tsunagu sent by itself."),
        customers=drill_queries.active_customers,
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
        customers=drill_queries.retained_customers,
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
        customers=drill_queries.lapsed_customers,
    ),
    FigureDef(
        "lapsed_customers",
        _("Lapsed customers"),
        "customers",
        "count",
        _("Customers active in the lapse window before the period whose lapse window ran out during the period."),
        higher_is_better=False,
        customers=drill_queries.lapsed_customers,
    ),
    FigureDef(
        "purchasers",
        _("Purchasers"),
        "customers",
        "count",
        _("Customers with a purchase in the period."),
        customers=drill_queries.purchasers,
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
        customers=drill_queries.repeat_purchasers,
    ),
    FigureDef(
        "orders",
        _("Orders"),
        "revenue",
        "count",
        _("Purchases recorded in the period."),
        customers=drill_queries.purchasers,
    ),
    FigureDef(
        "revenue",
        _("Revenue"),
        "revenue",
        "yen",
        _("Purchase amounts minus refunded (returned) amounts in the period, in yen."),
        customers=drill_queries.purchasers,
    ),
    FigureDef(
        "average_order_value",
        _("Average order value"),
        "revenue",
        "yen",
        _("Purchase amounts in the period divided by the number of purchases."),
        customers=drill_queries.purchasers,
    ),
    FigureDef(
        "clv_historical",
        _("Customer lifetime value (to date)"),
        "revenue",
        "yen",
        _("Net revenue from the beginning to the end of the period, divided by the customers who purchased by then."),
        customers=drill_queries.buyers_to_date,
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
        customers=drill_queries.buyers_to_date,
    ),
    FigureDef(
        "nps",
        _("NPS"),
        "service",
        "score",
        _("Percent promoters (9–10) minus percent detractors (0–6) among the NPS answers of the period."),
        customers=drill_queries.nps_answerers,
    ),
    FigureDef(
        "csat",
        _("CSAT"),
        "service",
        "percent",
        _("Share of the CSAT answers of the period scoring 4 or 5."),
        customers=drill_queries.csat_answerers,
    ),
    FigureDef(
        "median_first_response",
        _("Median first response"),
        "service",
        "hours",
        _("Median time from opening to the first reply, in hours, for tickets opened in the period."),
        higher_is_better=False,
        customers=drill_queries.ticket_customers,
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
        customers=drill_queries.ticket_customers,
    ),
    FigureDef(
        "open_tickets",
        _("Open tickets"),
        "service",
        "count",
        _("Tickets new, open or waiting now, as of the last refresh of these figures (the period does not apply)."),
        higher_is_better=False,
        customers=drill_queries.open_ticket_customers,
    ),
    FigureDef(
        "loyalty_members",
        _("Loyalty members"),
        "loyalty",
        "count",
        _("Memberships joined by the end of the period and not closed by then."),
        customers=drill_queries.loyalty_members,
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
        customers=drill_queries.ledger_customers,
    ),
    FigureDef(
        "points_issued",
        _("Points issued"),
        "loyalty",
        "points",
        _("Points earned, bonus and referral points given in the period."),
        customers=drill_queries.points_issuers,
    ),
    FigureDef(
        "points_redeemed",
        _("Points redeemed"),
        "loyalty",
        "points",
        _("Points spent on rewards in the period."),
        customers=drill_queries.points_redeemers,
    ),
    FigureDef(
        "points_outstanding",
        _("Points outstanding"),
        "loyalty",
        "points",
        _("The sum of all members' balances at the end of the period: the points liability."),
        higher_is_better=False,
        customers=drill_queries.points_holders,
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


def sections_for(user) -> list[str]:
    """The dashboard sections ``user`` may see, in display order (none without ``insights.view_dashboard``)."""
    if not user.has_perm("insights.view_dashboard"):
        return []
    return [s for s in SECTIONS if user.has_perm(SECTION_PERMISSIONS[s])]


# Figures computed over the same customers as another figure: a rate or an amount links to those it is made of.
# Their definitions carry the same query (a test holds them together); drilldown.figure_values reads this too.
SAME_CUSTOMERS = {
    "churn_rate": "lapsed_customers",
    "orders": "purchasers",
    "revenue": "purchasers",
    "average_order_value": "purchasers",
    "clv_predicted": "clv_historical",
    "median_first_response": "sla_compliance",
}
