"""The customers behind each figure, from the raw tables: one query per figure, carried by its definition
(``FigureDef.customers``; figures.py), with the same definitions as the rollups' counts (a test holds each pair
together).

A count's query finds the customers it counts; a rate's or an amount's the customers it is computed over: revenue,
orders and average order value the period's purchasers, retention the customers retained, churn the lapsed ones,
NPS/CSAT those who answered, response times and SLA compliance the customers whose tickets were opened or resolved
in the period, the loyalty figures the members concerned. Each returns an unordered queryset of customers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from customers.models import Customer
from feedback.models import ACTIVE_STATUSES, Survey, Ticket
from loyalty.models import LedgerEntry, Membership

from .. import rollups
from ..models import CustomerLapse
from .period import Period


@dataclass(frozen=True)
class Scope:
    """What a drill-down query is asked: the period, its bounds as datetimes, and "today" (lapses still to come)."""

    period: Period
    today: dt.date
    start: dt.datetime
    end: dt.datetime

    @property
    def in_period(self) -> dict[str, dt.datetime]:
        return {"occurred_at__gte": self.start, "occurred_at__lt": self.end}


def new_customers(scope: Scope) -> QuerySet[Customer]:
    return Customer.objects.filter(created_at__gte=scope.start, created_at__lt=scope.end)


def active_customers(scope: Scope) -> QuerySet[Customer]:
    activity = rollups.activity_touchpoints()
    return Customer.objects.filter(Exists(activity.filter(customer=OuterRef("pk"), **scope.in_period)))


def purchasers(scope: Scope) -> QuerySet[Customer]:
    purchases = rollups.purchase_touchpoints()
    return Customer.objects.filter(Exists(purchases.filter(customer=OuterRef("pk"), **scope.in_period)))


def repeat_purchasers(scope: Scope) -> QuerySet[Customer]:
    purchases = rollups.purchase_touchpoints()
    counted = Subquery(
        purchases.filter(customer=OuterRef("pk"), occurred_at__lt=scope.end)
        .order_by()
        .values("customer")
        .annotate(n=Count("pk"))
        .values("n")[:1],
        output_field=IntegerField(),
    )
    return (
        Customer.objects.filter(Exists(purchases.filter(customer=OuterRef("pk"), **scope.in_period)))
        .annotate(_purchases=Coalesce(counted, Value(0)))
        .filter(_purchases__gte=2)
    )


def lapsed_customers(scope: Scope) -> QuerySet[Customer]:
    return Customer.objects.filter(pk__in=_lapsed_ids(scope.period, scope.today))


def retained_customers(scope: Scope) -> QuerySet[Customer]:
    """Live at the start (active in the lapse window just before the period) and not lapsed during it."""
    period = scope.period
    window_start, window_end = rollups.day_bounds(
        period.start - dt.timedelta(days=rollups.lapse_days()), period.start - dt.timedelta(days=1)
    )
    live = rollups.activity_touchpoints().filter(
        customer=OuterRef("pk"), occurred_at__gte=window_start, occurred_at__lt=window_end
    )
    return Customer.objects.filter(Exists(live)).exclude(pk__in=_lapsed_ids(period, scope.today))


def buyers_to_date(scope: Scope) -> QuerySet[Customer]:
    purchases = rollups.purchase_touchpoints()
    return Customer.objects.filter(Exists(purchases.filter(customer=OuterRef("pk"), occurred_at__lt=scope.end)))


def _answerers(kind: str, scope: Scope) -> QuerySet[Customer]:
    answers = Survey.objects.filter(
        customer=OuterRef("pk"), kind=kind, answered_at__gte=scope.start, answered_at__lt=scope.end, score__isnull=False
    )
    return Customer.objects.filter(Exists(answers))


def nps_answerers(scope: Scope) -> QuerySet[Customer]:
    return _answerers("nps", scope)


def csat_answerers(scope: Scope) -> QuerySet[Customer]:
    return _answerers("csat", scope)


def ticket_customers(scope: Scope) -> QuerySet[Customer]:
    """Customers whose tickets were opened or resolved in the period."""
    start, end = scope.start, scope.end
    tickets = Ticket.objects.filter(customer=OuterRef("pk")).filter(
        Q(created_at__gte=start, created_at__lt=end) | Q(resolved_at__gte=start, resolved_at__lt=end)
    )
    return Customer.objects.filter(Exists(tickets))


def open_ticket_customers(scope: Scope) -> QuerySet[Customer]:
    return Customer.objects.filter(Exists(Ticket.objects.filter(customer=OuterRef("pk"), status__in=ACTIVE_STATUSES)))


def loyalty_members(scope: Scope) -> QuerySet[Customer]:
    members = Membership.objects.filter(customer=OuterRef("pk"), joined_at__lt=scope.end).filter(
        Q(closed_at__isnull=True) | Q(closed_at__gte=scope.end)
    )
    return Customer.objects.filter(Exists(members))


def _ledger_entries(scope: Scope) -> QuerySet[LedgerEntry]:
    return LedgerEntry.objects.filter(
        membership__customer=OuterRef("pk"), created_at__gte=scope.start, created_at__lt=scope.end
    )


def ledger_customers(scope: Scope) -> QuerySet[Customer]:
    """Members with a points entry of any kind in the period."""
    return Customer.objects.filter(Exists(_ledger_entries(scope)))


def points_issuers(scope: Scope) -> QuerySet[Customer]:
    kinds = LedgerEntry.Kind
    entries = _ledger_entries(scope).filter(kind__in=[kinds.EARN, kinds.BONUS, kinds.REFERRAL])
    return Customer.objects.filter(Exists(entries))


def points_redeemers(scope: Scope) -> QuerySet[Customer]:
    return Customer.objects.filter(Exists(_ledger_entries(scope).filter(kind=LedgerEntry.Kind.REDEEM)))


def points_holders(scope: Scope) -> QuerySet[Customer]:
    """The members holding points at the period's end: their ledger up to then sums to more than zero."""
    held = Subquery(
        LedgerEntry.objects.filter(membership__customer=OuterRef("pk"), created_at__lt=scope.end)
        .order_by()
        .values("membership__customer")
        .annotate(total=Sum("points"))
        .values("total")[:1],
        output_field=IntegerField(),
    )
    customers = Customer.objects.filter(Exists(Membership.objects.filter(customer=OuterRef("pk")))).annotate(_held=held)
    return customers.filter(_held__gt=0)


def _lapsed_ids(period: Period, today: dt.date) -> QuerySet:
    """Customers whose last activity before the period, within the lapse window, was not followed by another
    within the lapse window, their lapse day being in the period and not in the future (see
    ``reading._churned_q``): an index range of CustomerLapse, which the rollups keep."""
    lapse_days = rollups.lapse_days()
    first = period.start - dt.timedelta(days=lapse_days)
    last = min(period.start - dt.timedelta(days=1), period.end - dt.timedelta(days=lapse_days))
    last = min(last, today - dt.timedelta(days=lapse_days))
    return CustomerLapse.objects.filter(last_day__gte=first, last_day__lte=last).values("customer_id")
