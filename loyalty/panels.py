"""The loyalty panel on the customer page and the loyalty rows of the timeline (registered in
LoyaltyConfig.ready()).

The panel joins ``Customer.loyalty_account`` into the page's customer query: a customer in no programme
costs the page no loyalty query at all. A member costs two: their memberships (with programme, tier and
next tier) and one aggregate over their ledger (points expiring soon, points towards the next tier). Joining
a programme is a page of its own, so the panel never lists the programmes.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django import forms
from django.db.models import Exists, OuterRef, Q, Sum
from django.http import HttpRequest

from customers.models import Customer

from .models import LedgerEntry, LoyaltyAccount, Membership, Programme, Tier
from .querysets import QUALIFYING_KINDS, twelve_months_before
from .services import local_today
from .wallet.config import wallet_buttons

EXPIRING_SOON_DAYS = 30


def loyalty_account(customer: Customer) -> LoyaltyAccount | None:
    """The customer's account, or None: free when the page joined it, one query otherwise."""
    try:
        return customer.loyalty_account
    except LoyaltyAccount.DoesNotExist:
        return None


def membership_panel_context(request: HttpRequest, customer: Customer) -> dict[str, Any]:
    memberships: list[Membership] = []
    if loyalty_account(customer) is not None:
        memberships = list(Membership.objects.for_customer(customer).for_panel().order_by("joined_at", "pk"))
    if memberships:
        today = local_today()
        soon = today + dt.timedelta(days=EXPIRING_SOON_DAYS)
        since = twelve_months_before(today)
        qualifying = Q(kind__in=QUALIFYING_KINDS, redemption__isnull=True, created_at__gte=since)
        expiring = Q(remaining__gt=0, expires_on__lte=soon)
        sums = {
            row["membership_id"]: row
            for row in LedgerEntry.objects.filter(membership__in=memberships)
            .filter(qualifying | expiring)
            .order_by()
            .values("membership_id")
            .annotate(
                points=Sum("points", filter=qualifying),
                amount=Sum("amount", filter=qualifying),
                expiring=Sum("remaining", filter=expiring),
            )
        }
        for m in memberships:
            row = sums.get(m.pk, {})
            basis = "amount" if m.programme.tier_basis == Programme.TierBasis.AMOUNT else "points"
            m.qualifying = Decimal(row.get(basis) or 0)
            m.expiring_soon = row.get("expiring") or 0
            m.progress = None
            if m.next_tier_threshold is not None and m.next_tier_threshold > 0:
                m.progress = min(100, int(m.qualifying * 100 / m.next_tier_threshold))
                m.to_next_tier = max(m.next_tier_threshold - m.qualifying, Decimal(0))
    return {
        "memberships": memberships,
        "expiring_soon_days": EXPIRING_SOON_DAYS,
        "can_join": request.user.has_perm("loyalty.add_membership"),
        "can_redeem": request.user.has_perm("loyalty.add_redemption"),
        "can_adjust": request.user.has_perm("loyalty.adjust_points"),
        "can_hand_wallet": bool(memberships)
        and request.user.has_perm("loyalty.manage_card")
        and any(wallet_buttons().values()),
    }


# --- The "loyalty tier" segment condition ----------------------------------------------------------


class TierChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Tier) -> str:
        return f"{obj.programme.name}: {obj.name}"


def tier_segment_field() -> forms.Field:
    return TierChoiceField(
        queryset=Tier.objects.select_related("programme").order_by("programme__name", "position"),
        widget=forms.SelectMultiple(attrs={"class": "form-select", "size": 4}),
    )


def tier_segment_q(tier_ids) -> Q:
    """Customers with an active membership in one of these tiers (an EXISTS, so nobody counts twice)."""
    ids = [t.pk if hasattr(t, "pk") else int(t) for t in tier_ids]
    return Q(Exists(Membership.objects.filter(customer_id=OuterRef("pk"), status="active", tier_id__in=ids)))
