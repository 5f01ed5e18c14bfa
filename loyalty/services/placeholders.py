"""Loyalty placeholders for message templates: ``{points_balance}`` and ``{tier}``."""

from __future__ import annotations

from django.db.models import Count, Sum
from django.db.models.functions import Coalesce

from customers.models import Customer

from ..models import Membership


def placeholder_points_balance(customer: Customer) -> str:
    """The balance of a member ("0" when they have none); "" for a non-member, so that ``{if points_balance}`` and
    ``{points_balance|…}`` can tell them apart."""
    row = Membership.objects.active().filter(customer=customer).aggregate(n=Sum("balance"), members=Count("pk"))
    return f"{row['n'] or 0:,}" if row["members"] else ""


def placeholder_tier(customer: Customer) -> str:
    names = (
        Membership.objects.active()
        .filter(customer=customer, tier__isnull=False)
        .order_by("pk")
        .values_list("tier__name", flat=True)
    )
    return ", ".join(names)


def placeholders_points_balance(customer_ids: list[int]) -> dict[int, str]:
    """``{points_balance}`` of many customers in one query (a broadcast's chunk); non-members are left out."""
    rows = (
        Membership.objects.active()
        .filter(customer_id__in=customer_ids)
        .order_by()
        .values("customer_id")
        .annotate(n=Coalesce(Sum("balance"), 0))
        .values_list("customer_id", "n")
    )
    return {customer_id: f"{total:,}" for customer_id, total in rows}


def placeholders_tier(customer_ids: list[int]) -> dict[int, str]:
    """``{tier}`` of many customers in one query; customers without a tier are left out."""
    names: dict[int, list[str]] = {}
    rows = (
        Membership.objects.active()
        .filter(customer_id__in=customer_ids, tier__isnull=False)
        .order_by("pk")
        .values_list("customer_id", "tier__name")
    )
    for customer_id, name in rows:
        names.setdefault(customer_id, []).append(name)
    return {customer_id: ", ".join(tiers) for customer_id, tiers in names.items()}
