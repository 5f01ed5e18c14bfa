"""The journey's segment conditions (registered in TouchpointsConfig.ready(); see customers/segments.py)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django import forms
from django.db.models import Case, DecimalField, Exists, F, OuterRef, Q, Sum, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.segments import SegmentCondition, register

from .models import CustomerJourney, Stage, Touchpoint, TouchpointType


def _stage_q(stages: list[str]) -> Q:
    return Q(Exists(CustomerJourney.objects.filter(customer_id=OuterRef("pk"), stage__in=stages)))


def _net_spend_at_least(minimum: Decimal) -> Q:
    """Purchases minus returns, over all time, of at least ``minimum`` (one grouped scan of purchases)."""
    signed = Case(
        When(type__kind=TouchpointType.Kind.PURCHASE, then=F("amount")),
        When(type__kind=TouchpointType.Kind.RETURN, then=-F("amount")),
        default=0,
        output_field=DecimalField(max_digits=16, decimal_places=2),
    )
    spenders = (
        Touchpoint.objects.filter(
            amount__isnull=False, type__kind__in=[TouchpointType.Kind.PURCHASE, TouchpointType.Kind.RETURN]
        )
        .order_by()
        .values("customer_id")
        .annotate(total=Sum(signed))
        .filter(total__gte=minimum)
        .values("customer_id")
    )
    return Q(pk__in=spenders)


def _last_purchase_over(days: int) -> Q:
    """Customers who have bought, but not in the last ``days`` days (business time): "lapsed buyers"."""
    since = timezone.now() - dt.timedelta(days=days)
    purchases = Touchpoint.objects.filter(customer_id=OuterRef("pk"), type__kind=TouchpointType.Kind.PURCHASE)
    return Q(Exists(purchases)) & ~Q(Exists(purchases.filter(occurred_at__gte=since)))


def register_journey_conditions() -> None:
    register(
        SegmentCondition(
            key="stage",
            label=_("Journey stage is one of"),
            field=lambda: forms.MultipleChoiceField(
                choices=Stage.choices, widget=forms.SelectMultiple(attrs={"class": "form-select", "size": 4})
            ),
            to_q=lambda stages: _stage_q(list(stages)),
            order=80,
        )
    )
    register(
        SegmentCondition(
            key="spend_at_least",
            label=_("Spent at least (purchases minus returns)"),
            field=lambda: forms.DecimalField(min_value=0, max_digits=14, decimal_places=2),
            to_q=_net_spend_at_least,
            dump=lambda value: str(value),
            load=lambda value: Decimal(str(value)),
            order=81,
        )
    )
    register(
        SegmentCondition(
            key="last_purchase_over_days",
            label=_("Last purchase more than this many days ago"),
            field=lambda: forms.IntegerField(min_value=1, max_value=3650),
            to_q=_last_purchase_over,
            order=82,
        )
    )
