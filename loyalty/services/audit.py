"""Checks that balances, lifetime points and lots agree with the ledger."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import F, Q, Sum
from django.db.models.functions import Coalesce

from ..models import Membership
from .ledger import Kind


@dataclass(frozen=True)
class AuditProblem:
    membership_id: int
    member_number: str
    balance: int
    ledger_balance: int
    lifetime_points: int
    ledger_lifetime: int
    lots_remaining: int

    def describe(self) -> str:
        parts = []
        if self.balance != self.ledger_balance:
            parts.append(f"balance {self.balance} but the ledger sums to {self.ledger_balance}")
        if self.lifetime_points != self.ledger_lifetime:
            parts.append(f"lifetime points {self.lifetime_points} but the ledger sums to {self.ledger_lifetime}")
        if self.lots_remaining != self.ledger_balance:
            parts.append(f"its lots hold {self.lots_remaining} unspent points, not {self.ledger_balance}")
        return f"membership {self.membership_id} ({self.member_number}): " + "; ".join(parts)


def ledger_audit(*, membership_ids: Iterable[int] | None = None) -> list[AuditProblem]:
    """Every membership whose balance or lifetime points differ from its ledger, or whose lots do not add up
    to its balance. One grouped query (GROUP BY membership over the ledger)."""
    lifetime_q = ~Q(entries__kind__in=[Kind.REDEEM, Kind.EXPIRE]) & Q(entries__redemption__isnull=True)
    qs = Membership.objects.all()
    if membership_ids is not None:
        qs = qs.filter(pk__in=list(membership_ids))
    rows = (
        qs.order_by()
        .values("pk", "member_number", "balance", "lifetime_points")
        .annotate(
            ledger_balance=Coalesce(Sum("entries__points"), 0),
            ledger_lifetime=Coalesce(Sum("entries__points", filter=lifetime_q), 0),
            lots_remaining=Coalesce(Sum("entries__remaining", filter=Q(entries__remaining__gt=0)), 0),
        )
        .filter(
            ~Q(balance=F("ledger_balance"))
            | ~Q(lifetime_points=F("ledger_lifetime"))
            | ~Q(ledger_balance=F("lots_remaining"))
        )
        .order_by("pk")
    )
    return [
        AuditProblem(
            membership_id=row["pk"],
            member_number=row["member_number"],
            balance=row["balance"],
            ledger_balance=row["ledger_balance"],
            lifetime_points=row["lifetime_points"],
            ledger_lifetime=row["ledger_lifetime"],
            lots_remaining=row["lots_remaining"],
        )
        for row in rows
    ]
