"""Staff actions on a message (retry, cancel) and on templates."""

from __future__ import annotations

import datetime as dt
import logging

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from .. import placeholders
from ..models import MessageTemplate, OutboundMessage, Purpose
from .policy import Skip, Status
from .publishing import publish_on_commit

logger = logging.getLogger(__name__)


@transaction.atomic
def message_retry(*, message: OutboundMessage, by=None, now: dt.datetime | None = None) -> bool:
    """Give a failed message another round of attempts. False when it was not failed."""
    now = now or timezone.now()
    changed = OutboundMessage.objects.filter(pk=message.pk, status=Status.FAILED).update(
        status=Status.QUEUED, attempts=0, next_attempt_at=now, enqueued_at=now, last_error="", updated_at=now
    )
    if changed:
        publish_on_commit([message.pk])
        logger.info("outbox: message %s retried by=%s", message.pk, getattr(by, "pk", None))
    return bool(changed)


@transaction.atomic
def message_cancel(*, message: OutboundMessage, by=None, now: dt.datetime | None = None) -> bool:
    """Stop a queued message. False when it was no longer queued."""
    now = now or timezone.now()
    changed = OutboundMessage.objects.filter(pk=message.pk, status=Status.QUEUED).update(
        status=Status.SKIPPED, skip_reason=Skip.CANCELLED, enqueued_at=None, updated_at=now
    )
    if changed:
        logger.info("outbox: message %s cancelled by=%s", message.pk, getattr(by, "pk", None))
    return bool(changed)


# --- Templates ------------------------------------------------------------------------------------


@transaction.atomic
def message_template_save(*, template: MessageTemplate, by=None) -> MessageTemplate:
    """Create or edit a template (the form checked the placeholders). A slug never changes once created."""
    if template.pk is None and by is not None:
        template.created_by = by
    elif template.pk is not None:
        template.slug = MessageTemplate.objects.values_list("slug", flat=True).get(pk=template.pk)
    template.name = " ".join((template.name or "").split())
    if template.pk is None and not (template.slug or "").strip():
        template.slug = _unique_slug(template.name)
    if template.purpose == Purpose.TRANSACTIONAL and not may_send_service_messages(by):
        was = MessageTemplate.objects.filter(pk=template.pk).values_list("purpose", flat=True).first()
        if was != Purpose.TRANSACTIONAL:  # its text may still be edited; making one is a manager's call
            raise ValidationError({"purpose": _("Only a manager may make a template a service message.")})
    template.full_clean(exclude=["created_by"])
    template.save()
    logger.info("message template saved id=%s by=%s", template.pk, getattr(by, "pk", None))
    return template


def _unique_slug(name: str) -> str:
    """An identifier for a new template made from its name ("spring-sale", "spring-sale-2"; a name in Japanese,
    which has no ASCII letters to keep, gives "template-<n>")."""
    base = slugify(name)[:40] or "template"
    existing = set(MessageTemplate.objects.filter(slug__startswith=base).values_list("slug", flat=True))
    if base != "template" and base not in existing:
        return base
    n = 2 if base != "template" else MessageTemplate.objects.count() + 1
    while f"{base}-{n}" in existing:
        n += 1
    return f"{base}-{n}"


def may_send_service_messages(user) -> bool:
    """Service (transactional) messages reach customers without marketing consent: managers alone choose them."""
    return user is not None and user.has_perm("outreach.send_service_message")


def sendable_templates(*, user, purposes: tuple[str, ...] | None = None) -> list[MessageTemplate]:
    """The active templates a rule or a broadcast may send: knowing only the customer, not those that need the
    sending code's context (a ticket's reference, a survey's link); service messages only for managers."""
    if purposes is None:
        purposes = (Purpose.MARKETING,)
        if may_send_service_messages(user):
            purposes += (Purpose.TRANSACTIONAL,)
    candidates = MessageTemplate.objects.filter(is_active=True, purpose__in=purposes).order_by("name", "id")
    return [t for t in candidates if not placeholders.needs_context(t)]
