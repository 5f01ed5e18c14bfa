"""How feedback reaches the customer and the journey: every message goes through the outreach outbox
inside the transaction that decided to send it, under a unique key (a retry never mails twice), and events are
sent after commit."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser

from customers.models import Customer
from customers.signals import send_after_commit
from touchpoints.models import TouchpointType
from touchpoints.outreach import inbound, outbox
from touchpoints.outreach.inbound import batch_memo
from touchpoints.outreach.models import MessageTemplate
from touchpoints.services import TouchpointData, touchpoint_record, touchpoint_record_batch

from .. import message_templates
from ..models import Ticket

logger = logging.getLogger(__name__)


def _after_commit(signal, **kwargs: Any) -> None:
    """Every feedback event is sent with the ticket model as its sender."""
    send_after_commit(signal, sender=Ticket, **kwargs)


def site_url(path: str) -> str:
    """An absolute address for links in mail (settings.TSUNAGU_BASE_URL)."""
    base = getattr(settings, "TSUNAGU_BASE_URL", "http://localhost:8000").rstrip("/")
    return f"{base}{path}"


def _message_enqueue(
    *,
    customer: Customer,
    key: str,
    purpose: str,
    template_slug: str | None = None,
    subject: str = "",
    body: str = "",
    context: dict[str, Any] | None = None,
    send_after: dt.datetime | None = None,
    source_ref: str = "",
    channel: str = "email",
) -> Any:
    """The one place feedback hands a message to the customer to the outreach outbox.

    ``touchpoints.outreach.outbox.message_enqueue`` writes the outbox row in the caller's transaction (idempotent on
    ``key``, consent-checked) and sends it from a Celery task after commit; nothing here sends mail. A
    template staff deleted is replaced by its built-in text (feedback/message_templates.py).
    """
    template = None
    if template_slug:
        template = MessageTemplate.objects.filter(slug=template_slug).first()
        if template is None:
            logger.warning("message template %r missing: sending feedback's built-in text", template_slug)
            subject, body = message_templates.fallback_text(template_slug, customer.preferred_language)
            if message_templates.TEMPLATES[template_slug]["purpose"] == "marketing":
                purpose = "marketing"  # as the outbox does for a marketing template
    return outbox.message_enqueue(
        customer=customer,
        key=key,
        purpose=purpose,
        template=template,
        subject=subject,
        body=body,
        context=context or {},
        channel=channel,
        send_after=send_after,
        source_app="feedback",
        source_ref=source_ref,
    )


def _touchpoint_record(
    *,
    customer: Customer,
    slug: str,
    key: str,
    summary: str,
    channel: str,
    direction: str = "inbound",
    metadata: dict[str, Any] | None = None,
    by: AbstractBaseUser | None = None,
    at: dt.datetime | None = None,
    order_reference: str = "",
) -> Any:
    """Record a touchpoint of the catalogue type ``slug``; a missing or retired type records nothing.

    Marketing edits the catalogue: a ticket must still open when they switch "support" off.
    """
    touchpoint_type = batch_memo(
        ("feedback:touchpoint_type", slug), lambda: TouchpointType.objects.filter(slug=slug, is_active=True).first()
    )
    if touchpoint_type is None:
        logger.warning("touchpoint type %r missing or inactive: no touchpoint for %s", slug, key)
        return None
    fields = {
        "touchpoint_type": touchpoint_type,
        "channel": channel,
        "direction": direction,
        "occurred_at": at,
        "summary": summary[:1000],
        "order_reference": order_reference[:100],
        "metadata": metadata or {},
        "idempotency_key": key,
    }
    # A batch of inbound mail records its tickets' touchpoints in one bulk call at its end (same transaction).
    if by is None and inbound.defer(_touchpoints_flush, TouchpointData(customer_id=customer.pk, **fields)):
        return None
    return touchpoint_record(customer=customer, by=by, source="staff" if by is not None else "system", **fields)


def _touchpoints_flush(items: list[TouchpointData]) -> None:
    touchpoint_record_batch(items=items, source="system")
