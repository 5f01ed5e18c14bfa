from celery import shared_task

from . import services


@shared_task
def sla_check_task() -> dict[str, int]:
    """Every minute: warn before and at SLA breaches. Safe to run twice (one warning per ticket and kind,
    each told once); see services.sla_check."""
    return services.sla_check().as_dict()
