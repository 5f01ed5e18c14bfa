"""The periodic safety net: recover dead send attempts, publish what is due, repair the timeline (docs/outbox.md)."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import channels, sources
from ..models import TEST_SOURCE, OutboundMessage
from . import publishing
from .policy import SWEEP_CHUNK, SWEEP_MAX, TIMELINE_REPAIR_AFTER, TIMELINE_REPAIR_WINDOW, Status, _setting
from .timeline import messages_record_timeline

logger = logging.getLogger(__name__)


@dataclass
class SweepReport:
    recovered_resend: int = 0
    recovered_sent: int = 0
    published: int = 0
    timeline: int = 0


def _stale_tokens(now: dt.datetime, timeout: dt.timedelta) -> list[uuid.UUID]:
    """Send attempts holding rows in ``sending`` that have shown no progress for ``timeout``."""
    candidates = set(
        OutboundMessage.objects.filter(status=Status.SENDING, claimed_at__lt=now - timeout)
        .values_list("claim_token", flat=True)
        .distinct()
    )
    stale = []
    for token in candidates:
        rows = OutboundMessage.objects.filter(claim_token=token).values_list("claimed_at", "handed_over_at", "sent_at")
        latest = max(max(t for t in row if t is not None) for row in rows)
        if latest < now - timeout:
            stale.append(token)
    return stale


def outbox_recover(*, now: dt.datetime | None = None) -> tuple[int, int]:
    """Settle rows left in ``sending`` by a dead send attempt (module docstring). Returns (resend, sent)."""
    now = now or timezone.now()
    timeout = dt.timedelta(seconds=_setting("TSUNAGU_OUTBOX_CLAIM_TIMEOUT", 300))
    resend = sent = 0
    for token in _stale_tokens(now, timeout):
        with transaction.atomic():
            # A LINE request carries its retry key: sent again with it, LINE answers 409 if it had taken it.
            resend += OutboundMessage.objects.filter(
                claim_token=token, status=Status.SENDING, handed_over_at__isnull=False, retry_key__isnull=False
            ).update(
                status=Status.QUEUED,
                claim_token=None,
                handed_over_at=None,
                next_attempt_at=now,
                enqueued_at=None,
                last_error=_("Recovered: the sender stopped during a LINE request; sent again with its retry key."),
                updated_at=now,
            )
            sent += OutboundMessage.objects.filter(
                claim_token=token, status=Status.SENDING, handed_over_at__isnull=False
            ).update(
                status=Status.SENT,
                sent_at=F("handed_over_at"),
                last_error=_(
                    "Recovered: the sender stopped after handing the message to the mail server; counted as sent, "
                    "not resent."
                ),
                updated_at=now,
            )
            resend += OutboundMessage.objects.filter(
                claim_token=token, status=Status.SENDING, handed_over_at__isnull=True
            ).update(
                status=Status.QUEUED,
                claim_token=None,
                next_attempt_at=now,
                enqueued_at=None,
                last_error=_("Recovered: the sender stopped before the mail server took the message; sent again."),
                updated_at=now,
            )
    if resend or sent:
        logger.warning("outbox: recovered %d message(s) to resend and %d counted as sent", resend, sent)
    return resend, sent


def outbox_publish_due(*, now: dt.datetime | None = None, limit: int = SWEEP_MAX) -> int:
    """Publish send tasks for queued rows that are due and have no task pending (or whose task is lost)."""
    now = now or timezone.now()
    requeue = dt.timedelta(seconds=_setting("TSUNAGU_OUTBOX_REQUEUE_SECONDS", 900))
    published = 0
    while published < limit:
        with transaction.atomic():
            ids = list(
                OutboundMessage.objects.filter(status=Status.QUEUED, next_attempt_at__lte=now)
                .filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=now - requeue))
                .order_by("next_attempt_at", "id")
                .select_for_update(skip_locked=True)
                .values_list("pk", flat=True)[:SWEEP_CHUNK]
            )
            if not ids:
                break
            OutboundMessage.objects.filter(pk__in=ids).update(enqueued_at=now)
        publishing.publish(sorted(ids))
        published += len(ids)
        if len(ids) < SWEEP_CHUNK:
            break
    return published


def outbox_repair_timeline(*, now: dt.datetime | None = None) -> int:
    now = now or timezone.now()
    messages = list(
        OutboundMessage.objects.filter(
            status=Status.SENT,
            touchpoint__isnull=True,
            sent_at__lt=now - TIMELINE_REPAIR_AFTER,
            sent_at__gte=now - TIMELINE_REPAIR_WINDOW,
        )
        .exclude(channel__in=channels.by_staff_codes())
        .exclude(source_app__in=sources.off_timeline())  # their app shows them: never recorded, not missing
        .exclude(source_app=TEST_SOURCE)  # test sends to staff are not the customer's
        .order_by("sent_at")[:SWEEP_CHUNK]
    )
    return messages_record_timeline(messages)


def outbox_sweep(*, now: dt.datetime | None = None) -> SweepReport:
    """The periodic safety net: recover dead send attempts, publish what is due, fill in the timeline.
    Safe to run twice and from two schedulers at once."""
    now = now or timezone.now()
    report = SweepReport()
    report.recovered_resend, report.recovered_sent = outbox_recover(now=now)
    report.published = outbox_publish_due(now=now)
    report.timeline = outbox_repair_timeline(now=now)
    return report
