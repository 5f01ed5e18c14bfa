from celery import shared_task

from . import services


@shared_task
def sla_check_task() -> dict[str, int]:
    """Every minute: warn before and at SLA breaches. Safe to run twice (one warning per ticket and kind,
    each told once); see services.sla_check."""
    return services.sla_check().as_dict()


@shared_task
def pending_submissions_purge_task() -> int:
    """Hourly: forget public-form messages whose confirmation link has expired. Safe to run twice."""
    return services.pending_submissions_purge()
