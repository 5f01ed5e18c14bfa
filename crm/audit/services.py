"""Writes of the audit trail: only the retention purge (the access log is otherwise append-only)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from .models import AccessRecord


@transaction.atomic
def access_log_purge(*, now: dt.datetime | None = None) -> int:
    """Delete the access records older than TSUNAGU_AUDIT_RETENTION_DAYS; running it again deletes nothing more."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=int(settings.TSUNAGU_AUDIT_RETENTION_DAYS))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # the trigger lets this transaction, and only it, delete
            cursor.execute("SELECT set_config('audit.purging', 'on', true)")
    deleted, _by_model = AccessRecord.objects.filter(at__lt=cutoff).delete()
    return deleted
