"""A pass's content changed (a ledger write moved the balance, the card was reissued): mark it and, after commit,
hand the update to a task. Kept apart from ``services.py`` so the ledger imports only this (and models)."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from .models import WalletPass

logger = logging.getLogger(__name__)


def _enqueue(membership_id: int) -> None:
    from ..tasks import wallet_pass_update_task

    try:
        wallet_pass_update_task.delay(membership_id)
    except Exception:  # the broker is down: the row says what is due, and the sweep picks it up
        logger.warning("wallet pass update not queued membership=%s", membership_id, exc_info=True)


def wallet_pass_changed(membership_id: int) -> None:
    """One indexed UPDATE; members without a wallet pass (most of them) cost nothing more."""
    if WalletPass.objects.filter(membership_id=membership_id).update(changed_at=timezone.now()):
        transaction.on_commit(lambda: _enqueue(membership_id))
