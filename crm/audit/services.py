"""Writes of the audit trail: the retention purge (the access log is otherwise append-only), and the events no trigger
sees (a touchpoint taken back by hand)."""

from __future__ import annotations

import datetime as dt

import pghistory
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from .context import history_enabled
from .models import AccessRecord, TrackedStaticDevice, TrackedTouchpoint


@transaction.atomic
def access_log_purge(*, now: dt.datetime | None = None) -> int:
    """Delete the access records older than TSUNAGU_AUDIT_RETENTION_DAYS; running it again deletes nothing more."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=int(settings.TSUNAGU_AUDIT_RETENTION_DAYS))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # the trigger lets this transaction, and only it, delete
            cursor.execute("SELECT set_config('audit.purging', 'on', true)")
    deleted, _by_model = AccessRecord.objects.filter(at__lt=cutoff).delete()
    return deleted


def touchpoint_undo_record(*, touchpoint) -> None:
    """Record in the customer's history that ``touchpoint`` is being taken back (call before deleting it; who does it
    comes from the open context: the request's user). No history on SQLite, as for every other change."""
    if history_enabled():
        values = {f.attname: getattr(touchpoint, f.attname) for f in touchpoint._meta.concrete_fields}
        pghistory.create_event(TrackedTouchpoint(**values), label="undone")


def backup_code_use_record(*, device) -> None:
    """Record that one of ``device``'s backup codes logged its user in (django-otp deletes the code: no trigger can
    tell that from codes being replaced). Who: the device's user (not yet logged in when this runs)."""
    if history_enabled():
        values = {f.attname: getattr(device, f.attname) for f in device._meta.concrete_fields}
        with pghistory.context(user=device.user_id):
            pghistory.create_event(TrackedStaticDevice(**values), label="backup_code_used")
