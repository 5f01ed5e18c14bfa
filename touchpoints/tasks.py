"""Journey tasks: thin, idempotent wrappers around the services (each is safe to run twice).

The periodic ones are declared in crm/celery.py's beat_schedule.
"""

from __future__ import annotations

from celery import shared_task

from .funnel import funnel_fold
from .services.pending import CATCH_UP_AFTER, journeys_fold_pending


@shared_task
def funnel_fold_task() -> int:
    """Every minute: sum the funnel's pending delta rows into its rollups (safe to run twice, or at once), after
    advancing the journeys a lost task left pending (their transitions belong in the same fold)."""
    journeys_fold_pending(older_than=CATCH_UP_AFTER)
    return funnel_fold()


@shared_task
def journeys_fold_pending_task(touchpoint_ids: list[int]) -> int:
    """Right after a large API batch committed: advance its customers' journeys (safe to run twice: the first run
    takes the pending rows)."""
    return journeys_fold_pending(touchpoint_ids=touchpoint_ids)
