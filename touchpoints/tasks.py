"""Journey tasks: thin, idempotent wrappers around the services (each is safe to run twice).

The periodic ones are declared in crm/celery.py's beat_schedule.
"""

from __future__ import annotations

from celery import shared_task

from .funnel import funnel_fold


@shared_task
def funnel_fold_task() -> int:
    """Every minute: sum the funnel's pending delta rows into its rollups (safe to run twice, or at once)."""
    return funnel_fold()
