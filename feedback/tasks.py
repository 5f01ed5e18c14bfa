from celery import shared_task

from . import rollups, services


@shared_task
def sla_check_task() -> dict[str, int]:
    """Every minute: warn before and at SLA breaches. Safe to run twice (one warning per ticket and kind,
    each told once); see services.sla_check."""
    return services.sla_check().as_dict()


@shared_task
def pending_submissions_purge_task() -> int:
    """Hourly: forget public-form messages whose confirmation link has expired. Safe to run twice."""
    return services.pending_submissions_purge()


@shared_task
def figures_rollup_refresh_task() -> int:
    """Every TSUNAGU_ROLLUP_SECONDS: bring the figures' rollup up to date (only the days touched since the last
    run). Safe to run twice: each day is recomputed from the raw rows, under the watermark's lock."""
    return rollups.refresh()


@shared_task
def figures_rollup_rebuild_task() -> int:
    """Nightly: recompute the figures' rollup from scratch (puts right a deletion the refresh cannot see)."""
    return rollups.rebuild()
