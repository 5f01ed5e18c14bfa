"""Writes of the observability app: the Celery failure counter."""

from __future__ import annotations

import logging

from django.db import DatabaseError
from django.db.models import F
from django.utils import timezone

from .models import TaskFailure

log = logging.getLogger(__name__)


def task_failure_record(*, task: str) -> None:
    """Add one to ``task``'s failure count, in one statement (no lost update between workers).

    A failure to count must not hide the task's own failure, so database errors are logged and dropped."""
    now = timezone.now()
    try:
        updated = TaskFailure.objects.filter(task=task).update(failures=F("failures") + 1, last_failed_at=now)
        if not updated:
            _, created = TaskFailure.objects.get_or_create(task=task, defaults={"failures": 1, "last_failed_at": now})
            if not created:  # another worker created it between our two statements
                TaskFailure.objects.filter(task=task).update(failures=F("failures") + 1, last_failed_at=now)
    except DatabaseError:
        log.exception("could not count a failure of %s", task)
