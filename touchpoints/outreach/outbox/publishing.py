"""Handing send tasks to the broker; the row, not the broker message, is the record (docs/outbox.md)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.db import transaction

from ..models import OutboundMessage
from .policy import Status, _setting

logger = logging.getLogger(__name__)

LINE_BATCH = 500
PUBLISH_RETRY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}


def publish(message_ids: Sequence[int]) -> int:
    """Hand send tasks to the broker, ``TSUNAGU_OUTBOX_BATCH`` ids each. Never raises: a message that
    cannot be published stays queued with ``enqueued_at`` cleared, and the sweeper publishes it later."""
    from ..tasks import message_send_task, messages_send_task  # a cycle: the tasks import the outbox

    size = max(1, _setting("TSUNAGU_OUTBOX_BATCH", 100))
    ids = list(message_ids)
    # LINE rows go in tasks of up to 500 (one multicast each); email in TSUNAGU_OUTBOX_BATCH (one connection).
    by_line = (
        set(OutboundMessage.objects.filter(pk__in=ids, channel="line").values_list("pk", flat=True)) if ids else set()
    )
    chunks = [ids[s : s + size] for s in range(0, len(ids), size)] if not by_line else []
    if by_line:
        line_ids = [pk for pk in ids if pk in by_line]
        other = [pk for pk in ids if pk not in by_line]
        chunks = [other[s : s + size] for s in range(0, len(other), size)]
        chunks += [line_ids[s : s + LINE_BATCH] for s in range(0, len(line_ids), LINE_BATCH)]
    published = 0
    for number, chunk in enumerate(chunks):
        try:
            if len(chunk) == 1:
                message_send_task.apply_async(args=[chunk[0]], retry=True, retry_policy=PUBLISH_RETRY)
            else:
                messages_send_task.apply_async(args=[chunk], retry=True, retry_policy=PUBLISH_RETRY)
            published += len(chunk)
        except Exception:
            rest = [pk for later in chunks[number:] for pk in later]
            logger.exception("outbox: could not publish %d send task(s); the sweeper will retry", len(rest))
            OutboundMessage.objects.filter(pk__in=rest, status=Status.QUEUED).update(enqueued_at=None)
            break
    return published


def publish_on_commit(message_ids: Sequence[int]) -> None:
    ids = list(message_ids)
    if ids:
        transaction.on_commit(lambda: publish(ids))
