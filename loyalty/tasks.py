"""Loyalty's periodic jobs (declared in crm/celery.py's beat_schedule). Each is safe to run twice: the
services work on due rows only, and unique keys stop a second greeting or a second ledger entry."""

from __future__ import annotations

import datetime as dt

from celery import shared_task

from . import services


def _day(today: str | None) -> dt.date | None:
    return dt.date.fromisoformat(today) if today else None


@shared_task(acks_late=True, reject_on_worker_lost=True)
def milestones_schedule_task(today: str | None = None) -> dict[str, int]:
    """Hourly: today's birthdays and membership anniversaries (in the business time zone) become greetings."""
    return services.milestones_schedule(today=_day(today))


@shared_task(acks_late=True, reject_on_worker_lost=True)
def greetings_dispatch_task(today: str | None = None, rounds: int = 50) -> int:
    """Every few minutes: hand due greetings to the outbox, 200 at a time, until none is left (or ``rounds``)."""
    sent = 0
    for _round in range(rounds):
        n = services.greetings_dispatch(today=_day(today))
        sent += n
        if n == 0:
            break
    return sent


@shared_task(acks_late=True, reject_on_worker_lost=True)
def points_expire_task(today: str | None = None) -> int:
    """Nightly: expire what is left of lots past their date, then schedule reminders of points expiring soon."""
    expired = services.points_expire(today=_day(today))
    services.expiry_reminders_schedule(today=_day(today))
    return expired


@shared_task(acks_late=True, reject_on_worker_lost=True)
def tiers_review_task(today: str | None = None) -> dict[str, int]:
    """Nightly: the yearly tier reviews that are due (downgrades after the grace period)."""
    return services.tiers_review(today=_day(today))


@shared_task(acks_late=True, reject_on_worker_lost=True, autoretry_for=(Exception,), retry_backoff=30,
             max_retries=8)  # fmt: skip
def wallet_pass_update_task(membership_id: int) -> dict[str, int]:
    """After a balance change: push to the member's Apple devices, patch their Google Wallet object."""
    from .wallet.services import wallet_pass_update

    return wallet_pass_update(membership_id=membership_id)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def wallet_passes_sweep_task() -> int:
    """Every few minutes: the updates that were never queued (the broker was down at commit)."""
    from .wallet.services import wallet_passes_pending

    pending = wallet_passes_pending()
    for membership_id in pending:
        wallet_pass_update_task.delay(membership_id)
    return len(pending)
