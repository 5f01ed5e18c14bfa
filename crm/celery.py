"""The Celery app, with the safe baseline from shared/RELIABILITY.md.

Tasks are thin idempotent wrappers around services, so a task may run twice: we acknowledge late
and re-queue on a lost worker rather than lose work. Periodic jobs are declared in ``beat_schedule``
below, the one place they live; django-celery-beat's DatabaseScheduler copies them into its tables
when beat starts (staff can then pause one in the admin). Run exactly one beat in production.
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

# Every job listed here is safe to run twice (see shared/RELIABILITY.md).
app.conf.beat_schedule = {
    "customers: forget week-old CSV uploads": {
        "task": "customers.tasks.import_batch_purge_task",
        "schedule": 60 * 60,
    },
}
