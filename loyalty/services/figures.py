"""Per-programme figures for the loyalty dashboard."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.core.cache import cache
from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce

from ..models import LedgerEntry, Membership, Programme
from .ledger import Kind

FIGURES_CACHE_KEY = "loyalty:figures"


def loyalty_figures(*, fresh: bool = False) -> list[dict[str, Any]]:
    """Per programme: members, active share, points issued, redeemed (net of cancellations), expired and
    outstanding. Two grouped queries over the whole tables, so the result is cached for five minutes."""
    figures = None if fresh else cache.get(FIGURES_CACHE_KEY)
    if figures is not None:
        return figures
    members = {
        row["programme_id"]: row
        for row in Membership.objects.order_by()
        .values("programme_id")
        .annotate(
            members=Count("pk"),
            active=Count("pk", filter=Q(status=Membership.Status.ACTIVE)),
            outstanding=Coalesce(Sum("balance"), 0),
            issued=Coalesce(Sum("lifetime_points"), 0),
        )
    }
    spent = defaultdict(int)
    for row in (
        LedgerEntry.objects.filter(Q(kind__in=[Kind.REDEEM, Kind.EXPIRE]) | Q(redemption__isnull=False))
        .order_by()
        .values("membership__programme_id", "kind")
        .annotate(points=Sum("points"))
    ):
        bucket = "expired" if row["kind"] == Kind.EXPIRE else "redeemed"
        spent[(row["membership__programme_id"], bucket)] += -row["points"]
    figures = []
    for programme_id, name in Programme.objects.order_by("name").values_list("id", "name"):
        row = members.get(programme_id, {})
        count = row.get("members", 0)
        figures.append(
            {
                "programme_id": programme_id,
                "programme": name,
                "members": count,
                "active": row.get("active", 0),
                "active_share": (row.get("active", 0) / count) if count else 0,
                "issued": row.get("issued", 0),
                "redeemed": spent[(programme_id, "redeemed")],
                "expired": spent[(programme_id, "expired")],
                "outstanding": row.get("outstanding", 0),
            }
        )
    cache.set(FIGURES_CACHE_KEY, figures, 300)
    return figures
