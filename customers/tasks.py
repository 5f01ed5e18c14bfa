from celery import shared_task

from . import services


@shared_task
def import_batch_purge_task() -> int:
    """Hourly: forget uploaded CSV files after a week. Safe to run twice (a second run finds nothing)."""
    return services.import_batches_purge()
