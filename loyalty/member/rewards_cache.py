"""The programme's rewards as the card and the till show them, cached: the same for every member of a programme,
read on every card view. Saving a reward or moving its stock forgets them (after commit); the short lifetime
covers rewards whose availability window opens or closes by the clock."""

from __future__ import annotations

from django.core.cache import cache
from django.db import transaction

REWARDS_SECONDS = 60


def rewards_key(programme_id: int) -> str:
    return f"tsunagu:card-rewards:{programme_id}"


def card_rewards_forget(programme_id: int) -> None:
    transaction.on_commit(lambda: cache.delete(rewards_key(programme_id)))
