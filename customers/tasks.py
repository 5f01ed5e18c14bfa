from celery import shared_task

from . import services


@shared_task
def import_batch_purge_task() -> int:
    """Hourly: forget uploaded CSV files after TSUNAGU_IMPORT_RETENTION_DAYS. Safe to run twice."""
    return services.import_batches_purge()


@shared_task
def search_index_flush_task() -> int:
    """After a large import: merge the search index's pending entries in one pass. Safe to run twice."""
    return services.search_index_flush()
