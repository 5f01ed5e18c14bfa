"""The Celery app, with the safe baseline from shared/RELIABILITY.md.

Tasks are thin idempotent wrappers around services, so a task may run twice: we acknowledge late
and re-queue on a lost worker rather than lose work. Periodic jobs are declared in PERIODIC_TASKS
below, the one place they live, and synced into django-celery-beat's tables by `manage.py sync_schedule`
(also run by `make demo`); run exactly one beat in production.
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")

app = Celery("tsunagu")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    accept_content=["json"],
    task_serializer="json",
    result_serializer="json",
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_time_limit=300,
    task_soft_time_limit=240,
    task_ignore_result=True,
    broker_connection_retry_on_startup=True,
    beat_scheduler="django_celery_beat.schedulers:DatabaseScheduler",
    worker_hijack_root_logger=False,
)
app.autodiscover_tasks()

# name -> (task path, schedule in seconds, kwargs). Every job listed here is safe to run twice.
PERIODIC_TASKS: dict[str, tuple[str, float, dict]] = {
    "customers: purge expired import previews": ("customers.tasks.import_batch_purge_task", 60 * 60, {}),
}
