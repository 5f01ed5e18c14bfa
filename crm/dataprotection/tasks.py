from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(acks_late=True, reject_on_worker_lost=True)
def retention_anonymise_task() -> int:
    """TSUNAGU_RETENTION_INACTIVE_YEARS (0: off). Safe twice: an anonymised customer has its completed request."""
    return services.retention_anonymise()
