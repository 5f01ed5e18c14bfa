"""What a member card shows, read in a handful of indexed queries whatever the length of the ledger: the
membership with its tier and next tier, one aggregate (points towards the next tier), the lots expiring soon
grouped by day, the latest entries of the history, and the programme's rewards. Shared by the member's card
page and the till."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.cache import cache
from django.db.models import F, Q
from django.db.models.functions import Coalesce

from ..models import LedgerEntry, Membership, Programme, Reward
from ..querysets import twelve_months_before
from ..services import local_today
from .rewards_cache import REWARDS_SECONDS, rewards_key

EXPIRING_SOON_DAYS = 60
EXPIRING_SHOWN = 5  # days listed one by one; the later ones in one line (a lot a day would list sixty)
HISTORY_SIZE = 20
# A reward is "nearly affordable" when the member lacks at most this share of its cost (or 100 points).
NEARLY_SHARE = Decimal("0.5")
NEARLY_MIN = 100
NEARLY_SHOWN = 3


@dataclass
class CardSummary:
    membership: Membership
    qualifying: Decimal = Decimal(0)
    progress: int | None = None
    to_next_tier: Decimal | None = None
    expiring: list[tuple[dt.date, int]] = field(default_factory=list)
    history: list[LedgerEntry] = field(default_factory=list)
    history_more: int | None = None  # the id of the last entry shown, when there are older ones
    affordable: list[Reward] = field(default_factory=list)
    nearly: list[Reward] = field(default_factory=list)

    @property
    def expiring_total(self) -> int:
        return sum(points for _day, points in self.expiring)

    @property
    def expiring_shown(self) -> list[tuple[dt.date, int]]:
        return self.expiring[:EXPIRING_SHOWN]

    @property
    def expiring_later(self) -> tuple[dt.date, int] | None:
        """(the last day, the points) of the days not listed one by one, or None."""
        later = self.expiring[EXPIRING_SHOWN:]
        return (later[-1][0], sum(points for _day, points in later)) if later else None

    @property
    def amount_basis(self) -> bool:
        return self.membership.programme.tier_basis == Programme.TierBasis.AMOUNT


def membership_for_card(pk: int) -> Membership:
    return Membership.objects.filter(pk=pk).for_panel().select_related("customer", "tier", "programme").get()


def card_summary(membership: Membership, *, history: int = HISTORY_SIZE) -> CardSummary:
    """``membership`` from ``membership_for_card`` (its next tier annotated)."""
    summary = CardSummary(membership=membership)
    today = local_today()
    since = twelve_months_before(today)
    soon = today + dt.timedelta(days=EXPIRING_SOON_DAYS)
    # From today: a lot whose day has passed is expired, whether or not the nightly job has taken it out yet.
    points, amount, summary.expiring = LedgerEntry.objects.card_figures(
        membership_id=membership.pk, since=since, first_day=today, last_day=soon
    )
    summary.qualifying = Decimal(amount if summary.amount_basis else points)
    threshold = getattr(membership, "next_tier_threshold", None)
    if threshold is not None and threshold > 0:
        summary.progress = min(100, int(summary.qualifying * 100 / threshold))
        summary.to_next_tier = max(threshold - summary.qualifying, Decimal(0))
    summary.history, summary.history_more = history_page(membership, size=history)
    position = membership.tier.position if membership.tier_id else 0
    rewards = [r for r in programme_rewards(membership.programme_id) if r.min_position <= position]
    balance = membership.balance
    summary.affordable = [r for r in rewards if r.points_cost <= balance]
    summary.nearly = [
        r
        for r in rewards
        if r.points_cost > balance and r.points_cost - balance <= max(NEARLY_MIN, int(r.points_cost * NEARLY_SHARE))
    ][:NEARLY_SHOWN]
    for reward in summary.nearly:
        reward.points_short = reward.points_cost - balance
    return summary


def history_page(membership: Membership, *, before: int | None = None, size: int = HISTORY_SIZE):
    """``size`` entries of the history, newest first, older than the entry ``before`` (keyset on the ledger's
    (membership, -created_at, -id) index: the same cost on the 50th page as on the first). Returns (entries, the
    id to continue from or None)."""
    qs = LedgerEntry.objects.filter(membership_id=membership.pk)
    if before is not None:
        anchor = qs.filter(pk=before).values_list("created_at", flat=True).first()
        if anchor is None:
            return [], None
        qs = qs.filter(Q(created_at__lt=anchor) | Q(created_at=anchor, id__lt=before))
    # The reward's name alone, not its redemption and reward rows: the history shows nothing else of them.
    rows = list(qs.annotate(reward_name=F("redemption__reward__name")).order_by("-created_at", "-id")[: size + 1])
    more = rows[size - 1].pk if len(rows) > size else None
    return rows[:size], more


def programme_rewards(programme_id: int) -> list[Reward]:
    """The programme's available rewards, cheapest first, each with ``min_position`` (0: every tier); cached."""
    rewards = cache.get(rewards_key(programme_id))
    if rewards is None:
        rewards = list(
            Reward.objects.available()
            .filter(programme_id=programme_id, programme__is_active=True)
            .annotate(min_position=Coalesce("min_tier__position", 0))
            .order_by("points_cost", "position", "id")
        )
        cache.set(rewards_key(programme_id), rewards, timeout=REWARDS_SECONDS)
    return rewards
