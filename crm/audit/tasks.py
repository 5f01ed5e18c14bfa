from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(acks_late=True, reject_on_worker_lost=True)
def access_log_purge_task() -> int:
    return services.access_log_purge()
