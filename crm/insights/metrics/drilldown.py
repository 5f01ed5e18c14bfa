"""The drill-down lists: the customers behind a figure (the query on its definition), newest first, and what each
of them counts for in it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from customers.models import Customer
from customers.money import format_money
from feedback.models import Survey
from loyalty.models import LedgerEntry

from .. import rollups
from .drill_queries import Scope
from .figures import FIGURES_BY_KEY, SAME_CUSTOMERS
from .period import Period


def customers_behind(key: str, period: Period, *, today: dt.date | None = None) -> QuerySet[Customer]:
    """The customers figure ``key`` is computed over in ``period`` (``FigureDef.customers``), from the raw tables,
    newest id first (keyset pagination). KeyError for an unknown figure or one without a drill-down."""
    query = FIGURES_BY_KEY[key].customers
    if query is None:
        raise KeyError(key)
    start, end = rollups.day_bounds(period.start, period.end)
    scope = Scope(period=period, today=today or timezone.localdate(), start=start, end=end)
    return query(scope).order_by("-id")


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
                "%(amount)s · %(orders)s order", "%(amount)s · %(orders)s orders", orders
            ) % {
                "amount": format_money(total),
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
