"""Recording sent messages on the customers' timelines, once per message."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from touchpoints.models import Channel, Direction, TouchpointType
from touchpoints.services import TouchpointBatchInvalid, TouchpointData, touchpoint_record_batch

from .. import sources
from ..models import OutboundMessage
from .policy import TIMELINE_TYPE_SLUG

logger = logging.getLogger(__name__)


def messages_record_timeline(messages: Sequence[OutboundMessage]) -> int:
    """Record each sent message on its customer's timeline (a retention touchpoint, outbound), once:
    the touchpoint's idempotency key derives from the outbox key. Returns how many were linked."""
    hidden = set(sources.off_timeline())
    messages = [m for m in messages if m.source_app not in hidden]
    if not messages:
        return 0
    touchpoint_type = TouchpointType.objects.filter(slug=TIMELINE_TYPE_SLUG, is_active=True).first()
    if touchpoint_type is None:
        logger.warning(
            "outbox: touchpoint type %r missing or inactive; sent mail is not on the timeline", TIMELINE_TYPE_SLUG
        )
        return 0
    linked = 0
    for start in range(0, len(messages), 500):
        chunk = messages[start : start + 500]
        items = [
            TouchpointData(
                customer_id=m.customer_id,
                touchpoint_type=touchpoint_type,
                channel=m.channel if m.channel in Channel.values else Channel.OTHER,
                direction=Direction.OUTBOUND,
                occurred_at=min(m.sent_at or timezone.now(), timezone.now()),
                summary=m.subject[:1000],
                metadata=_timeline_metadata(m),
                idempotency_key=f"outbox:{m.key}",
            )
            for m in chunk
        ]
        try:
            with transaction.atomic():
                touchpoints = touchpoint_record_batch(items=items, source="system")
                for message, touchpoint in zip(chunk, touchpoints, strict=True):
                    message.touchpoint_id = touchpoint.pk
                _link_touchpoints(chunk)
                linked += len(chunk)
        except (TouchpointBatchInvalid, ValidationError, IntegrityError):
            logger.exception("outbox: could not record %d sent message(s) on the timeline", len(chunk))
    return linked


def _link_touchpoints(messages: Sequence[OutboundMessage]) -> None:
    """Set each message's ``touchpoint`` in one statement (bulk_update's CASE is slow for a hot path)."""
    if connection.vendor != "postgresql":
        OutboundMessage.objects.bulk_update(messages, ["touchpoint"])
        return
    table = connection.ops.quote_name(OutboundMessage._meta.db_table)
    values = ", ".join(["(%s::bigint, %s::bigint)"] * len(messages))
    params = [v for m in messages for v in (m.pk, m.touchpoint_id)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS m SET touchpoint_id = v.tp FROM (VALUES {values}) AS v(id, tp) WHERE m.id = v.id",  # noqa: S608
            params,
        )


def _timeline_metadata(message: OutboundMessage) -> dict[str, Any]:
    # Sent by the system (a rule, a broadcast, an app's greeting): no follow-up rule fires on it.
    metadata: dict[str, Any] = {"outbox": message.pk, "purpose": message.purpose, "origin": "system"}
    if message.template_id:
        metadata["template"] = message.template_id
    if message.followup_id:
        metadata["followup"] = message.followup_id
        rule_id = message.source_ref.removeprefix("rule:") if message.source_ref.startswith("rule:") else ""
        if rule_id.isdigit():
            metadata["rule"] = int(rule_id)
    if message.broadcast_id:
        metadata["broadcast"] = message.broadcast_id
    if message.source_app:
        metadata["source_app"] = message.source_app
    return metadata
