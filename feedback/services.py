"""Writes of the feedback app. Views, the admin, the API, the public pages and tasks all come here.

- A ticket's status moves only along ``TRANSITIONS``; every move keeps the SLA fields right: due times
  from the ticket's policy (business or calendar hours), the clock stopped while waiting on the customer
  and while resolved, first-response and resolution times, breach flags, and the next deadline the queues
  sort on (``next_due_at``) with its warning time (``next_warn_at``).
- Opening a ticket records a "support" touchpoint; a survey answer records a "survey" touchpoint.
- Every message to a customer goes through the outreach outbox (``_message_enqueue``), inside the
  transaction that decided to send it, under a unique key: a retry never mails twice.
- The SLA job (``sla_check``) is set-based and idempotent: one warning per ticket and kind, enforced by a
  unique constraint, and staff are told about each warning once.
"""

from __future__ import annotations

import datetime as dt
import heapq
import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, get_connection
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, F, Max, Value, When
from django.db.models.functions import Coalesce, Lower
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from customers.models import Customer
from customers.services import customer_create, customer_touch

from . import events, message_templates, sla
from .models import (
    CLOCK_STATUSES,
    NO_DEADLINE,
    CannedResponse,
    SlaPolicy,
    SlaWarning,
    Status,
    Survey,
    Ticket,
    TicketMessage,
    TicketTag,
    format_reference,
)

logger = logging.getLogger(__name__)
User = get_user_model()

SUBJECT_MAX = 200
BODY_MAX = 10_000
COMMENT_MAX = 2_000
NAME_MAX = 100
ORDER_REFERENCE_MAX = 100
BULK_MAX = 500

# Where a status may go. Closed is final: a customer who writes again gets a new ticket.
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.NEW: frozenset({Status.OPEN, Status.WAITING, Status.RESOLVED, Status.CLOSED}),
    Status.OPEN: frozenset({Status.WAITING, Status.RESOLVED, Status.CLOSED}),
    Status.WAITING: frozenset({Status.OPEN, Status.RESOLVED, Status.CLOSED}),
    Status.RESOLVED: frozenset({Status.OPEN, Status.CLOSED}),
    Status.CLOSED: frozenset(),
}

# Ticket channel -> the journey's channel of the touchpoint it records.
TOUCHPOINT_CHANNELS = {
    Ticket.Channel.EMAIL: "email",
    Ticket.Channel.PHONE: "phone",
    Ticket.Channel.WEB_FORM: "web",
    Ticket.Channel.WIDGET: "web",
    Ticket.Channel.LINE: "line",
    Ticket.Channel.STORE: "store",
    Ticket.Channel.SURVEY: "web",
    Ticket.Channel.OTHER: "other",
}

SURVEY_SALT = "feedback.survey.link"
THANKS_SALT = "feedback.form.thanks"
CSAT_TEMPLATE = "csat-invite"
NPS_TEMPLATE = "nps-invite"
RECEIVED_TEMPLATE = "feedback-received"


def transition_allowed(from_status: str, to_status: str) -> bool:
    return to_status in TRANSITIONS.get(from_status, frozenset())


def allowed_transitions(status: str) -> list[str]:
    """The statuses a ticket in ``status`` may move to, in the order of ``Status``."""
    targets = TRANSITIONS.get(status, frozenset())
    return [value for value in Status.values if value in targets]


# --- Small helpers --------------------------------------------------------------------------------


def _text(value: Any, *, name: str, limit: int, required: bool = False, single_line: bool = False) -> str:
    text = "" if value is None else str(value)
    text = text.replace("\r\n", "\n").strip()
    if single_line:
        text = " ".join(text.split())
    if "\x00" in text:
        raise ValidationError({name: _("Null characters are not allowed.")})
    if required and not text:
        raise ValidationError({name: _("This field is required.")})
    if len(text) > limit:
        raise ValidationError({name: _("Keep this to %(limit)d characters.") % {"limit": limit}})
    return text


def _choice(value: str, choices: Iterable[str], *, name: str) -> str:
    if value not in set(choices):
        raise ValidationError({name: _("Unknown value.")})
    return value


def _check_assignee(assignee: AbstractBaseUser | None) -> None:
    if assignee is not None and not (assignee.is_active and assignee.is_staff):
        raise ValidationError({"assignee": _("Tickets are assigned to active staff members only.")})


def _after_commit(signal, **kwargs: Any) -> None:
    def send() -> None:
        for receiver, result in signal.send_robust(sender=Ticket, **kwargs):
            if isinstance(result, Exception):
                logger.error("feedback event receiver %r failed", receiver, exc_info=result)

    transaction.on_commit(send)


def site_url(path: str) -> str:
    """An absolute address for links in mail (settings.TSUNAGU_BASE_URL)."""
    base = getattr(settings, "TSUNAGU_BASE_URL", "http://localhost:8000").rstrip("/")
    return f"{base}{path}"


def tags_get_or_create(names: Iterable[str]) -> list[TicketTag]:
    """Ticket tags by name, ignoring case, creating the missing ones."""
    wanted: dict[str, str] = {}
    for name in names:
        clean = " ".join((name or "").split())[:50]
        if clean:
            if "\x00" in clean:
                raise ValidationError({"tags": _("Null characters are not allowed.")})
            wanted.setdefault(clean.lower(), clean)
    if not wanted:
        return []

    def existing() -> dict[str, TicketTag]:
        found = TicketTag.objects.annotate(name_lower=Lower("name")).filter(name_lower__in=list(wanted))
        return {t.name.lower(): t for t in found}

    tags = existing()
    missing = [TicketTag(name=wanted[k]) for k in wanted if k not in tags]
    if missing:
        TicketTag.objects.bulk_create(missing, ignore_conflicts=True)
        tags = existing()
    return [tags[k] for k in wanted if k in tags]


def parse_tags(text: str) -> list[str]:
    return [part.strip() for part in (text or "").replace("、", ",").split(",") if part.strip()]


# --- The outbox -----------------------------------------------------------------------------------


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
) -> Any:
    """The one place feedback hands a message to the customer to the outreach outbox.

    ``touchpoints.outreach.outbox.message_enqueue`` writes the outbox row in the caller's transaction (idempotent on
    ``key``, consent-checked) and sends it from a Celery task after commit; nothing here sends mail. A
    template staff deleted is replaced by its built-in text (feedback/message_templates.py).
    """
    from touchpoints.outreach import outbox
    from touchpoints.outreach.models import MessageTemplate

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
        channel="email",
        send_after=send_after,
        source_app="feedback",
        source_ref=source_ref,
    )


# --- Touchpoints ----------------------------------------------------------------------------------


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
    from touchpoints.models import TouchpointType
    from touchpoints.services import touchpoint_record

    touchpoint_type = TouchpointType.objects.filter(slug=slug, is_active=True).first()
    if touchpoint_type is None:
        logger.warning("touchpoint type %r missing or inactive: no touchpoint for %s", slug, key)
        return None
    return touchpoint_record(
        customer=customer,
        touchpoint_type=touchpoint_type,
        channel=channel,
        direction=direction,
        occurred_at=at,
        summary=summary[:1000],
        order_reference=order_reference[:100],
        metadata=metadata or {},
        idempotency_key=key,
        by=by,
        source="staff" if by is not None else "system",
    )


# --- SLA ------------------------------------------------------------------------------------------


def sla_policy_for(*, priority: str, follow_up: bool = False) -> SlaPolicy | None:
    if follow_up:
        policy = SlaPolicy.objects.filter(is_follow_up=True).first()
        if policy is not None:
            return policy
    return SlaPolicy.objects.filter(priority=priority, is_follow_up=False).first()


def _calendar(policy: SlaPolicy | None) -> sla.BusinessCalendar:
    """The business calendar when the policy counts business hours (two queries); else an empty one."""
    if policy is not None and policy.business_hours:
        return sla.calendar_load()
    return sla.BusinessCalendar.build(hours=[])


def _uses_business_hours(policy: SlaPolicy, calendar: sla.BusinessCalendar) -> bool:
    if policy.business_hours and not calendar.has_hours:
        logger.error("SLA policy %s counts business hours but none are set: counting calendar hours", policy.pk)
        return False
    return policy.business_hours


def _sla_start(ticket: Ticket, policy: SlaPolicy | None, *, start: dt.datetime) -> None:
    """Due times of a ticket from ``start`` under ``policy`` (none: the ticket has no SLA)."""
    ticket.sla_policy = policy
    if policy is None:
        ticket.first_response_due_at = ticket.resolution_due_at = None
        return
    calendar = _calendar(policy)
    business = _uses_business_hours(policy, calendar)
    ticket.first_response_due_at = sla.due_at(
        start, policy.first_response_minutes, business_hours=business, calendar=calendar
    )
    ticket.resolution_due_at = sla.due_at(start, policy.resolution_minutes, business_hours=business, calendar=calendar)


def _sla_resume(ticket: Ticket, *, paused_at: dt.datetime, now: dt.datetime) -> None:
    """Move the unmet deadlines by the time the clock stood still (waiting on the customer, or resolved)."""
    policy = ticket.sla_policy
    if policy is None:
        return
    calendar = _calendar(policy)
    business = _uses_business_hours(policy, calendar)
    if ticket.first_responded_at is None and ticket.first_response_due_at:
        ticket.first_response_due_at = sla.resume_due(
            ticket.first_response_due_at,
            paused_at=paused_at,
            resumed_at=now,
            business_hours=business,
            calendar=calendar,
        )
    if ticket.resolution_due_at:
        ticket.resolution_due_at = sla.resume_due(
            ticket.resolution_due_at, paused_at=paused_at, resumed_at=now, business_hours=business, calendar=calendar
        )


def _sla_refresh(ticket: Ticket) -> None:
    """Derive the next running deadline and its warning time from the ticket's state."""
    due = NO_DEADLINE
    if ticket.status in CLOCK_STATUSES:
        if ticket.first_responded_at is None and ticket.first_response_due_at:
            due = ticket.first_response_due_at
        elif ticket.resolved_at is None and ticket.resolution_due_at:
            due = ticket.resolution_due_at
    ticket.next_due_at = due
    if due == NO_DEADLINE:
        ticket.next_warn_at = NO_DEADLINE
    else:
        warn = ticket.sla_policy.warn_before_minutes if ticket.sla_policy else 0
        ticket.next_warn_at = due - dt.timedelta(minutes=warn)


# --- Tickets --------------------------------------------------------------------------------------


@transaction.atomic
def ticket_open(
    *,
    customer: Customer,
    subject: str,
    body: str = "",
    kind: str = Ticket.Kind.QUESTION,
    channel: str = Ticket.Channel.EMAIL,
    priority: str = Ticket.Priority.NORMAL,
    assignee: AbstractBaseUser | None = None,
    tags: Sequence[str] = (),
    touchpoint: Any = None,
    order_reference: str = "",
    by: AbstractBaseUser | None = None,
    source_survey: Survey | None = None,
    idempotency_key: str = "",
    confirm: bool = False,
    now: dt.datetime | None = None,
) -> Ticket:
    """Open a ticket: its SLA due times, its tags, a "support" touchpoint, and (``confirm``) a confirmation
    mail with its reference. A replayed ``idempotency_key`` returns the first ticket (``replayed = True``)."""
    subject = _text(subject, name="subject", limit=SUBJECT_MAX, required=True, single_line=True)
    body = _text(body, name="body", limit=BODY_MAX)
    order_reference = _text(order_reference, name="order_reference", limit=ORDER_REFERENCE_MAX, single_line=True)
    idempotency_key = _text(idempotency_key, name="idempotency_key", limit=200, single_line=True)
    _choice(kind, Ticket.Kind.values, name="kind")
    _choice(channel, Ticket.Channel.values, name="channel")
    _choice(priority, Ticket.Priority.values, name="priority")
    _check_assignee(assignee)
    if touchpoint is not None and touchpoint.customer_id != customer.pk:
        raise ValidationError({"touchpoint": _("This touchpoint belongs to another customer.")})
    if idempotency_key:
        existing = Ticket.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            if existing.customer_id != customer.pk:
                raise ValidationError({"idempotency_key": _("This key was already used for another customer.")})
            existing.replayed = True
            return existing
    now = now or timezone.now()
    ticket = Ticket(
        customer=customer,
        kind=kind,
        channel=channel,
        subject=subject,
        body=body,
        priority=priority,
        status=Status.NEW,
        assignee=assignee,
        touchpoint=touchpoint,
        order_reference=order_reference,
        source_survey=source_survey,
        created_by=by,
        idempotency_key=idempotency_key,
        created_at=now,
    )
    _sla_start(ticket, sla_policy_for(priority=priority, follow_up=source_survey is not None), start=now)
    _sla_refresh(ticket)
    try:
        with transaction.atomic():
            ticket.save()
    except IntegrityError:
        existing = Ticket.objects.filter(idempotency_key=idempotency_key).first() if idempotency_key else None
        if existing is None:
            raise
        existing.replayed = True
        return existing
    if tags:
        ticket.tags.set(tags_get_or_create(tags))
    TicketMessage.objects.create(
        ticket=ticket, customer=customer, kind=TicketMessage.Kind.OPENED, author=by, created_at=now
    )
    _touchpoint_record(
        customer=customer,
        slug="support",
        key=f"feedback:ticket:{ticket.pk}:opened",
        summary=f"{ticket.reference} {subject}",
        channel=TOUCHPOINT_CHANNELS[channel],
        metadata={"ticket": ticket.pk, "kind": kind},
        by=by,
        at=now,
        order_reference=order_reference,
    )
    if confirm:
        _confirmation_enqueue(ticket)
    ticket.replayed = False
    _after_commit(events.ticket_opened, ticket=ticket)
    logger.info(
        "ticket opened id=%s customer=%s channel=%s by=%s", ticket.pk, customer.pk, channel, getattr(by, "pk", None)
    )
    return ticket


def _confirmation_enqueue(ticket: Ticket) -> Any:
    """Tell the customer we have their message, with its reference (and nothing they typed: no relaying)."""
    return _message_enqueue(
        customer=ticket.customer,
        key=f"feedback:ticket:{ticket.pk}:received",
        purpose="transactional",
        template_slug=RECEIVED_TEMPLATE,
        context={"ticket_reference": ticket.reference},
        source_ref=ticket.reference,
    )


def _lock(ticket: Ticket) -> Ticket:
    """The ticket's row, locked for this transaction, with its policy (the SLA rules need it)."""
    return Ticket.objects.select_for_update(of=("self",)).select_related("sla_policy", "customer").get(pk=ticket.pk)


def _apply_status(ticket: Ticket, to_status: str, *, now: dt.datetime, by: AbstractBaseUser | None) -> list:
    """Move ``ticket`` (locked) to ``to_status`` and keep its SLA fields right; returns work to do after."""
    from_status = ticket.status
    if not transition_allowed(from_status, to_status):
        raise ValidationError(
            {
                "status": _("A ticket cannot go from “%(from)s” to “%(to)s”.")
                % {"from": Status(from_status).label, "to": Status(to_status).label}
            }
        )
    after: list = []
    # The clock starts again: count the time it stood still back in.
    if from_status == Status.WAITING and to_status in CLOCK_STATUSES and ticket.sla_paused_at:
        _sla_resume(ticket, paused_at=ticket.sla_paused_at, now=now)
        ticket.sla_paused_at = None
    if from_status == Status.RESOLVED and to_status == Status.OPEN:
        _sla_resume(ticket, paused_at=ticket.resolved_at or now, now=now)
        ticket.resolved_at = None
        ticket.resolution_breached = bool(ticket.resolution_due_at and ticket.resolution_due_at <= now)
    if to_status == Status.WAITING:
        ticket.sla_paused_at = now
    if to_status in (Status.RESOLVED, Status.CLOSED):
        if ticket.sla_paused_at:  # resolved while waiting: the waiting time does not count against us
            _sla_resume(ticket, paused_at=ticket.sla_paused_at, now=now)
            ticket.sla_paused_at = None
        if ticket.resolved_at is None:
            ticket.resolved_at = now
            if ticket.resolution_due_at and now > ticket.resolution_due_at:
                ticket.resolution_breached = True
            if to_status == Status.RESOLVED:
                after.append("resolved")
    if to_status == Status.CLOSED:
        ticket.closed_at = now
    ticket.status = to_status
    _sla_refresh(ticket)
    return after


def _after_resolve(ticket: Ticket, *, now: dt.datetime, by: AbstractBaseUser | None) -> None:
    _touchpoint_record(
        customer=ticket.customer,
        slug="support",
        key=f"feedback:ticket:{ticket.pk}:resolved:{int(now.timestamp())}",
        summary=_("%(reference)s resolved") % {"reference": ticket.reference},
        channel=TOUCHPOINT_CHANNELS.get(ticket.channel, "other"),
        direction="outbound",
        metadata={"ticket": ticket.pk, "status": "resolved"},
        by=by,
        at=now,
    )
    # Follow-up tickets close a loop opened by a survey answer: no survey about the survey.
    if not ticket.is_follow_up:
        survey_create(customer=ticket.customer, kind=Survey.Kind.CSAT, ticket=ticket, source="ticket", by=by)


@transaction.atomic
def ticket_status_change(
    *, ticket: Ticket, status: str, by: AbstractBaseUser | None, now: dt.datetime | None = None
) -> Ticket:
    """Move a ticket to ``status`` if ``TRANSITIONS`` allows it. Resolving sends the CSAT survey."""
    _choice(status, Status.values, name="status")
    now = now or timezone.now()
    locked = _lock(ticket)
    if locked.status == status:
        return locked
    from_status = locked.status
    after = _apply_status(locked, status, now=now, by=by)
    locked.save()
    if "resolved" in after:
        _after_resolve(locked, now=now, by=by)
    _after_commit(events.ticket_status_changed, ticket=locked, from_status=from_status, to_status=status)
    logger.info("ticket status id=%s %s->%s by=%s", locked.pk, from_status, status, getattr(by, "pk", None))
    return locked


@transaction.atomic
def ticket_reply(
    *,
    ticket: Ticket,
    body: str,
    by: AbstractBaseUser | None,
    public: bool = True,
    status: str = "",
    now: dt.datetime | None = None,
    idempotency_key: str = "",
) -> TicketMessage:
    """Write to the customer (``public``: mailed through the outbox, shown on the timeline) or an internal note.

    The first public reply is the first response (and closes the loop of a follow-up ticket); a public reply
    to a new ticket opens it. ``status`` moves the ticket too, in the same transaction. A message already written
    under ``idempotency_key`` (the same form sent twice) is returned with ``replayed = True``, and nothing else
    happens: the ticket's lock makes the second wait for the first and find it.
    """
    body = _text(body, name="body", limit=BODY_MAX, required=True)
    if status:
        _choice(status, Status.values, name="status")
    now = now or timezone.now()
    locked = _lock(ticket)
    if idempotency_key:
        written = TicketMessage.objects.filter(ticket=locked, idempotency_key=idempotency_key).first()
        if written is not None:
            written.replayed = True
            return written
    if public and locked.status == Status.CLOSED:
        raise ValidationError({"body": _("This ticket is closed: open a new ticket to write to the customer.")})
    message = TicketMessage.objects.create(
        ticket=locked,
        customer_id=locked.customer_id,
        kind=TicketMessage.Kind.REPLY if public else TicketMessage.Kind.NOTE,
        body=body,
        author=by,
        created_at=now,
        idempotency_key=idempotency_key[:64],
    )
    after: list = []
    if public:
        if locked.first_responded_at is None:
            locked.first_responded_at = now
            due = locked.first_response_due_at
            if locked.sla_paused_at and due and locked.sla_policy:  # answered while waiting: that time is free
                calendar = _calendar(locked.sla_policy)
                due = sla.resume_due(
                    due,
                    paused_at=locked.sla_paused_at,
                    resumed_at=now,
                    business_hours=_uses_business_hours(locked.sla_policy, calendar),
                    calendar=calendar,
                )
            if due and now > due:
                locked.first_response_breached = True
        if locked.is_follow_up and locked.loop_closed_at is None:
            locked.loop_closed_at = now
        message.outbox_key = f"feedback:reply:{message.pk}"
        message.outbound = _reply_enqueue(locked, message)
        message.save(update_fields=["outbox_key", "outbound"])
        customer_touch(customer_id=locked.customer_id, at=now)
        if not status and locked.status == Status.NEW:
            status = Status.OPEN
    if status and status != locked.status:
        after = _apply_status(locked, status, now=now, by=by)
    else:
        _sla_refresh(locked)
    locked.save()
    if "resolved" in after:
        _after_resolve(locked, now=now, by=by)
    if public:
        _after_commit(events.ticket_replied, ticket=locked, message=message)
    logger.info("ticket %s id=%s by=%s", "reply" if public else "note", locked.pk, getattr(by, "pk", None))
    message.ticket = locked
    return message


def _reply_enqueue(ticket: Ticket, message: TicketMessage) -> Any:
    customer = ticket.customer
    language = customer.preferred_language or settings.LANGUAGE_CODE
    with translation.override(language):
        if ticket.source_survey_id is not None:
            # A follow-up's subject is written for staff ("Follow up: NPS score 2"): the customer reads this instead.
            subject = _("About your feedback [%(reference)s]") % {"reference": ticket.reference}
        else:
            subject = _("Re: %(subject)s [%(reference)s]") % {"subject": ticket.subject, "reference": ticket.reference}
        footer = _("Reference: %(reference)s. Reply to this message if you have anything to add.") % {
            "reference": ticket.reference
        }
    return _message_enqueue(
        customer=customer,
        key=message.outbox_key,
        purpose="transactional",
        subject=subject[:300],
        body=f"{message.body}\n\n--\n{footer}",
        source_ref=ticket.reference,
    )


TICKET_UPDATE_FIELDS = {"subject", "kind", "priority", "assignee", "tags", "order_reference", "touchpoint"}


@transaction.atomic
def ticket_update(
    *, ticket: Ticket, data: dict[str, Any], by: AbstractBaseUser | None, now: dt.datetime | None = None
) -> Ticket:
    """Change a ticket's details. A new priority recomputes its due times under the new policy."""
    unknown = set(data) - TICKET_UPDATE_FIELDS
    if unknown:
        raise ValueError(f"unknown ticket fields: {sorted(unknown)}")
    now = now or timezone.now()
    locked = _lock(ticket)
    if "subject" in data:
        locked.subject = _text(data["subject"], name="subject", limit=SUBJECT_MAX, required=True, single_line=True)
    if "kind" in data:
        locked.kind = _choice(data["kind"], Ticket.Kind.values, name="kind")
    if "order_reference" in data:
        locked.order_reference = _text(
            data["order_reference"], name="order_reference", limit=ORDER_REFERENCE_MAX, single_line=True
        )
    if "assignee" in data:
        _check_assignee(data["assignee"])
        locked.assignee = data["assignee"]
    if "touchpoint" in data:
        touchpoint = data["touchpoint"]
        if touchpoint is not None and touchpoint.customer_id != locked.customer_id:
            raise ValidationError({"touchpoint": _("This touchpoint belongs to another customer.")})
        locked.touchpoint = touchpoint
    if "priority" in data and data["priority"] != locked.priority:
        locked.priority = _choice(data["priority"], Ticket.Priority.values, name="priority")
        if not locked.is_follow_up:
            _sla_reprioritise(locked, now=now)
    _sla_refresh(locked)
    locked.save()
    if "tags" in data:
        locked.tags.set(tags_get_or_create(data["tags"]))
    logger.info("ticket updated id=%s fields=%s by=%s", locked.pk, sorted(data), getattr(by, "pk", None))
    return locked


def _sla_reprioritise(ticket: Ticket, *, now: dt.datetime) -> None:
    """Due times under the new priority's policy, from when the ticket was opened.

    Pauses so far moved the old deadlines later; the new ones move by the same calendar time.
    Breach flags follow the new deadlines for what already happened; the SLA job sees the rest.
    """
    old_policy, old_resolution = ticket.sla_policy, ticket.resolution_due_at
    shift = dt.timedelta()
    if old_policy is not None and old_resolution is not None:
        probe = Ticket(created_at=ticket.created_at)
        _sla_start(probe, old_policy, start=ticket.created_at)
        shift = max(dt.timedelta(), old_resolution - probe.resolution_due_at)
    _sla_start(ticket, sla_policy_for(priority=ticket.priority), start=ticket.created_at)
    if ticket.first_response_due_at:
        ticket.first_response_due_at += shift
        if ticket.first_responded_at is not None:
            ticket.first_response_breached = ticket.first_responded_at > ticket.first_response_due_at
        else:
            ticket.first_response_breached = now > ticket.first_response_due_at and ticket.first_response_breached
    if ticket.resolution_due_at:
        ticket.resolution_due_at += shift
        if ticket.resolved_at is not None:
            ticket.resolution_breached = ticket.resolved_at > ticket.resolution_due_at
        else:
            ticket.resolution_breached = now > ticket.resolution_due_at and ticket.resolution_breached


def ticket_assign(*, ticket: Ticket, assignee: AbstractBaseUser | None, by: AbstractBaseUser | None) -> Ticket:
    return ticket_update(ticket=ticket, data={"assignee": assignee}, by=by)


@transaction.atomic
def tickets_bulk_assign(
    *, ticket_ids: Sequence[int], assignee: AbstractBaseUser | None, by: AbstractBaseUser | None
) -> int:
    """Assign (or unassign) many tickets in one statement; closed tickets are left alone."""
    _check_assignee(assignee)
    ids = _bulk_ids(ticket_ids)
    count = (
        Ticket.objects.filter(pk__in=ids)
        .exclude(status=Status.CLOSED)
        .update(assignee=assignee, updated_at=timezone.now())
    )
    logger.info("tickets assigned n=%d to=%s by=%s", count, getattr(assignee, "pk", None), getattr(by, "pk", None))
    return count


@transaction.atomic
def tickets_bulk_close(
    *, ticket_ids: Sequence[int], by: AbstractBaseUser | None, now: dt.datetime | None = None
) -> int:
    """Close many tickets in one statement (no CSAT: closing is not resolving). Closed ones stay as they are."""
    ids = _bulk_ids(ticket_ids)
    now = now or timezone.now()
    rows = list(
        Ticket.objects.select_for_update()
        .filter(pk__in=ids)
        .exclude(status=Status.CLOSED)
        .order_by("pk")
        .values_list("pk", "status")
    )
    if not rows:
        return 0
    count = Ticket.objects.filter(pk__in=[pk for pk, _status in rows]).update(
        status=Status.CLOSED,
        closed_at=now,
        resolution_breached=Case(
            When(resolved_at__isnull=True, resolution_due_at__lt=now, sla_paused_at__isnull=True, then=Value(True)),
            default=F("resolution_breached"),
        ),
        resolved_at=Coalesce(F("resolved_at"), Value(now)),
        sla_paused_at=None,
        next_due_at=NO_DEADLINE,
        next_warn_at=NO_DEADLINE,
        updated_at=now,
    )
    for pk, from_status in rows:
        _after_commit(
            events.ticket_status_changed, ticket=Ticket(pk=pk), from_status=from_status, to_status=Status.CLOSED
        )
    logger.info("tickets closed n=%d by=%s", count, getattr(by, "pk", None))
    return count


def _bulk_ids(ticket_ids: Sequence[int]) -> list[int]:
    ids = sorted({int(pk) for pk in ticket_ids if 0 < int(pk) < 2**63})
    if len(ids) > BULK_MAX:
        raise ValidationError(_("Choose at most %(n)d tickets at once.") % {"n": BULK_MAX})
    return ids


# --- Canned responses -----------------------------------------------------------------------------

PLACEHOLDER_RE = re.compile(r"\{([a-z_]+)\}")
CANNED_PLACEHOLDERS = ["customer_name", "ticket_reference", "ticket_subject", "agent_name", "shop_name"]


def canned_response_render(*, canned: CannedResponse, ticket: Ticket, agent: AbstractBaseUser | None) -> str:
    """The response's text with its placeholders filled for ``ticket``; unknown braces stay as typed."""
    customer = ticket.customer
    with translation.override(customer.preferred_language or settings.LANGUAGE_CODE):
        values = {
            "customer_name": customer.display_name,
            "ticket_reference": ticket.reference,
            "ticket_subject": ticket.subject,
            "agent_name": (agent.get_full_name() or agent.get_username()) if agent is not None else "",
            "shop_name": settings.TSUNAGU_SHOP_NAME,
        }
    return PLACEHOLDER_RE.sub(lambda m: values.get(m.group(1), m.group(0)), canned.body)


def canned_placeholders_check(body: str) -> None:
    """Refuse braces naming no placeholder (a typo would reach the customer as typed)."""
    unknown = sorted(set(PLACEHOLDER_RE.findall(body or "")) - set(CANNED_PLACEHOLDERS))
    if unknown:
        raise ValidationError(
            {"body": _("Unknown placeholders: %(names)s.") % {"names": ", ".join("{" + n + "}" for n in unknown)}}
        )


@transaction.atomic
def canned_response_save(
    *,
    title: str,
    body: str,
    is_active: bool = True,
    canned: CannedResponse | None = None,
    by: AbstractBaseUser | None = None,
) -> CannedResponse:
    title = _text(title, name="title", limit=100, required=True, single_line=True)
    body = _text(body, name="body", limit=5_000, required=True)
    canned_placeholders_check(body)
    clash = CannedResponse.objects.filter(title__iexact=title)
    if canned is not None and canned.pk:
        clash = clash.exclude(pk=canned.pk)
    if clash.exists():
        raise ValidationError({"title": _("A canned response with this title already exists.")})
    canned = canned if canned is not None else CannedResponse()
    if canned.pk is None and canned.created_by_id is None:
        canned.created_by = by
    canned.title, canned.body, canned.is_active = title, body, is_active
    canned.save()
    return canned


@transaction.atomic
def canned_response_delete(*, canned: CannedResponse, by: AbstractBaseUser | None = None) -> None:
    pk = canned.pk
    canned.delete()
    logger.info("canned response deleted id=%s by=%s", pk, getattr(by, "pk", None))


# --- The public feedback form and the widget ------------------------------------------------------


def _customer_for_email(*, email: str, name: str, language: str, source: str) -> Customer:
    """The customer with this email (ignoring case), or a new one, WITHOUT marketing consent."""
    email = (email or "").strip().lower()
    customer = Customer.objects.with_email(email).first()
    if customer is not None:
        return customer
    name = _text(name, name="name", limit=NAME_MAX, single_line=True) or email.split("@", 1)[0][:NAME_MAX]
    data = {
        "family_name": name,
        "email": email,
        "source": source,
        "preferred_language": language if language in Customer.Language.values else Customer.Language.JA,
        "marketing_consent": False,
    }
    try:
        with transaction.atomic():
            return customer_create(data=data)
    except ValidationError:
        twin = Customer.objects.with_email(email).first()  # a concurrent submission created them a moment ago
        if twin is None:
            raise
        return twin


def subject_from_message(message: str) -> str:
    first = next((line.strip() for line in (message or "").splitlines() if line.strip()), "")
    first = " ".join(first.split())
    return first if len(first) <= 80 else first[:79] + "…"


@transaction.atomic
def feedback_submit(
    *,
    name: str,
    email: str,
    kind: str,
    message: str,
    language: str = "ja",
    channel: str = Ticket.Channel.WEB_FORM,
    subject: str = "",
    order_reference: str = "",
    idempotency_key: str = "",
) -> Ticket:
    """Someone wrote to us (the public form or the website widget): find or create the customer by email,
    open a ticket, and mail them its reference."""
    name = _text(name, name="name", limit=NAME_MAX, single_line=True)
    message = _text(message, name="message", limit=BODY_MAX, required=True)
    _choice(kind, Ticket.Kind.values, name="kind")
    if not (email or "").strip():
        raise ValidationError({"email": _("This field is required.")})
    source = Customer.Source.API if channel == Ticket.Channel.WIDGET else Customer.Source.WEB
    customer = _customer_for_email(email=email, name=name, language=language, source=source)
    return ticket_open(
        customer=customer,
        subject=subject or subject_from_message(message) or Ticket.Kind(kind).label,
        body=message,
        kind=kind,
        channel=channel,
        order_reference=order_reference,
        idempotency_key=idempotency_key,
        confirm=True,
    )


def thanks_token(ticket: Ticket) -> str:
    return signing.dumps(ticket.pk, salt=THANKS_SALT)


def ticket_from_thanks_token(token: str, *, max_age: int = 3600) -> int | None:
    try:
        value = signing.loads(token, salt=THANKS_SALT, max_age=max_age)
    except signing.BadSignature:
        return None
    return value if isinstance(value, int) else None


# --- Surveys --------------------------------------------------------------------------------------


class SurveyLinkError(Exception):
    reason = "invalid"


class SurveyLinkInvalid(SurveyLinkError):
    reason = "invalid"


class SurveyLinkExpired(SurveyLinkError):
    reason = "expired"


def _survey_signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=SURVEY_SALT)


def survey_token(survey: Survey) -> str:
    return _survey_signer().sign(str(survey.pk))


def survey_link(survey: Survey) -> str:
    """The absolute, signed, expiring address where the customer answers."""
    return site_url(reverse("feedback:survey", args=[survey_token(survey)]))


def survey_from_token(token: str) -> Survey:
    """The survey a link points to; raises ``SurveyLinkExpired`` or ``SurveyLinkInvalid`` (forged, unknown)."""
    max_age = dt.timedelta(days=settings.TSUNAGU_SURVEY_LINK_DAYS)
    try:
        value = _survey_signer().unsign(token or "", max_age=max_age)
    except signing.SignatureExpired as exc:
        raise SurveyLinkExpired from exc
    except signing.BadSignature as exc:
        raise SurveyLinkInvalid from exc
    if not value.isdigit() or len(value) > 18:
        raise SurveyLinkInvalid
    survey = Survey.objects.select_related("customer", "ticket").filter(pk=int(value)).first()
    if survey is None:
        raise SurveyLinkInvalid
    return survey


@transaction.atomic
def survey_create(
    *,
    customer: Customer,
    kind: str,
    ticket: Ticket | None = None,
    by: AbstractBaseUser | None = None,
    source: str = "",
    send: bool = True,
    purpose: str = "",
    send_after: dt.datetime | None = None,
) -> Survey:
    """Ask a customer for a CSAT or NPS score. With ``send``, the invitation goes through the outbox
    (template ``csat-invite`` or ``nps-invite``) and a "feedback-request" touchpoint is recorded.

    One CSAT per ticket: asking again returns the first survey (the database holds this too).
    NPS is a marketing message by default (consent needed); CSAT about a ticket is a service message.
    """
    _choice(kind, Survey.Kind.values, name="kind")
    if ticket is not None:
        existing = Survey.objects.filter(ticket=ticket, kind=kind).first()
        if existing is not None:
            return existing
    survey = Survey.objects.create(
        customer=customer,
        kind=kind,
        ticket=ticket,
        language=customer.preferred_language or settings.LANGUAGE_CODE,
        source=(source or ("staff" if by else ""))[:100],
        created_by=by,
    )
    if send:
        survey_invite_enqueue(survey=survey, purpose=purpose, send_after=send_after)
    return survey


def survey_invite_enqueue(*, survey: Survey, purpose: str = "", send_after: dt.datetime | None = None) -> Any:
    """Mail the survey's link (template ``csat-invite`` or ``nps-invite``) and, when it goes out, record a
    "feedback-request" touchpoint."""
    customer = survey.customer
    is_csat = survey.kind == Survey.Kind.CSAT
    purpose = purpose or ("transactional" if is_csat else "marketing")
    link = survey_link(survey)
    context = {"survey_url": link, "nps_survey_url": link}
    if survey.ticket_id:
        context["ticket_reference"] = format_reference(survey.ticket_id)
    message = _message_enqueue(
        customer=customer,
        key=f"feedback:survey:{survey.pk}",
        purpose=purpose,
        template_slug=CSAT_TEMPLATE if is_csat else NPS_TEMPLATE,
        context=context,
        send_after=send_after,
        source_ref=f"survey:{survey.pk}",
    )
    Survey.objects.filter(pk=survey.pk).update(outbound=message)
    survey.outbound = message
    if message.status != "skipped":
        _touchpoint_record(
            customer=customer,
            slug="feedback-request",
            key=f"feedback:survey:{survey.pk}:sent",
            summary=_("%(kind)s survey sent") % {"kind": survey.get_kind_display()},
            channel="email",
            direction="outbound",
            metadata={"survey": survey.pk, "kind": survey.kind},
        )
    return message


def survey_open_for(*, customer: Customer, kind: str = Survey.Kind.NPS, source: str = "") -> Survey:
    """An unanswered survey of ``kind`` for the customer whose link still works, else a new one (not sent).

    For messages rendered elsewhere (broadcasts, follow-up rules): the ``{nps_survey_url}`` placeholder asks
    for it, so rendering a message twice does not create two surveys.
    """
    fresh_after = timezone.now() - dt.timedelta(days=max(1, settings.TSUNAGU_SURVEY_LINK_DAYS - 1))
    survey = (
        Survey.objects.filter(
            customer=customer, kind=kind, ticket__isnull=True, answered_at__isnull=True, created_at__gte=fresh_after
        )
        .order_by("-created_at", "-id")
        .first()
    )
    if survey is None:
        survey = survey_create(customer=customer, kind=kind, source=source or "message", send=False)
    return survey


@transaction.atomic
def survey_answer(
    *, survey: Survey, score: int, comment: str = "", now: dt.datetime | None = None
) -> tuple[Survey, bool]:
    """Record the one answer a survey accepts. Returns (survey, recorded); a second answer changes nothing.

    The answer is a "survey" touchpoint; an NPS detractor (0–6) or a CSAT of 1–2 opens a follow-up ticket
    with its own SLA, assigned to the customer's owner.
    """
    if not isinstance(score, int) or isinstance(score, bool) or score not in survey.scale:
        raise ValidationError({"score": _("Choose a score on the scale.")})
    comment = _text(comment, name="comment", limit=COMMENT_MAX)
    now = now or timezone.now()
    claimed = Survey.objects.filter(pk=survey.pk, answered_at__isnull=True).update(
        score=score, comment=comment, answered_at=now
    )
    survey = Survey.objects.select_related("customer", "customer__owner", "ticket__assignee").get(pk=survey.pk)
    if not claimed:
        return survey, False
    touchpoint = _touchpoint_record(
        customer=survey.customer,
        slug="survey",
        key=f"feedback:survey:{survey.pk}:answer",
        summary=(f"{survey.get_kind_display()}: {score}" + (f" — {comment}" if comment else ""))[:1000],
        channel="web",
        metadata={"survey": survey.pk, "kind": survey.kind, "score": score},
        at=now,
    )
    if survey.is_unhappy:
        _follow_up_open(survey, touchpoint=touchpoint, now=now)
    _after_commit(events.survey_answered, survey=survey)
    logger.info("survey answered id=%s kind=%s score=%s", survey.pk, survey.kind, score)
    return survey, True


def _follow_up_open(survey: Survey, *, touchpoint: Any, now: dt.datetime) -> Ticket:
    """Close the loop: someone comes back to an unhappy customer, within the follow-up policy's SLA."""
    customer = survey.customer
    owner = customer.owner
    assignee = owner if owner is not None and owner.is_active and owner.is_staff else None
    if assignee is None and survey.ticket is not None:
        ticket_assignee = survey.ticket.assignee
        if ticket_assignee is not None and ticket_assignee.is_active and ticket_assignee.is_staff:
            assignee = ticket_assignee
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("Follow up: %(kind)s score %(score)d") % {"kind": survey.get_kind_display(), "score": survey.score}
        if survey.ticket_id:
            subject += f" ({format_reference(survey.ticket_id)})"
        body = survey.comment or _("(no comment)")
    return ticket_open(
        customer=customer,
        subject=subject,
        body=body,
        kind=Ticket.Kind.COMPLAINT,
        channel=Ticket.Channel.SURVEY,
        priority=Ticket.Priority.HIGH,
        assignee=assignee,
        touchpoint=touchpoint,
        source_survey=survey,
        now=now,
    )


# --- The SLA job ----------------------------------------------------------------------------------

SLA_CHUNK = 5_000
NOTIFY_MAX = 50_000
DIGEST_LINES = 50


@dataclass
class SlaCheckResult:
    warned_soon: int = 0
    first_response_breaches: int = 0
    resolution_breaches: int = 0
    notified_warnings: int = 0
    emails: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "warned_soon": self.warned_soon,
            "first_response_breaches": self.first_response_breaches,
            "resolution_breaches": self.resolution_breaches,
            "notified_warnings": self.notified_warnings,
            "emails": self.emails,
        }


# The deadlines the job watches: (kind of breach warning, due field, done field, breach flag).
DEADLINES = [
    (SlaWarning.Kind.FIRST_RESPONSE_BREACHED, "first_response_due_at", "first_responded_at", "first_response_breached"),
    (SlaWarning.Kind.RESOLUTION_BREACHED, "resolution_due_at", "resolved_at", "resolution_breached"),
]


def sla_check(*, now: dt.datetime | None = None) -> SlaCheckResult:
    """The periodic SLA job: raise the warnings that are due, flag breaches, tell the assignee and managers.

    Set-based and index-driven: on PostgreSQL one statement per kind of warning (an ``UPDATE … RETURNING``
    feeding an ``INSERT … ON CONFLICT DO NOTHING``), each reading a partial index of the open tickets whose
    deadline is unmet and unflagged, so a run costs what is new since the last one. Safe to run twice or
    in parallel: a breach flag is set once (the ``UPDATE`` only takes unflagged rows), each warning exists
    once per ticket and kind (a unique constraint), and each is mailed once (``sla_warnings_notify``).
    """
    now = now or timezone.now()
    result = SlaCheckResult()
    with transaction.atomic():
        result.warned_soon = _sla_warn_soon(now)
    for kind, due_field, done_field, flag in DEADLINES:
        with transaction.atomic():
            count = _sla_breaches(now, kind=kind, due_field=due_field, done_field=done_field, flag=flag)
        if kind == SlaWarning.Kind.FIRST_RESPONSE_BREACHED:
            result.first_response_breaches = count
        else:
            result.resolution_breaches = count
    result.notified_warnings, result.emails = sla_warnings_notify(now=now)
    return result


def _warn_window() -> dt.timedelta:
    """The longest warning window of any policy: a deadline is "soon" at most this long before it."""
    longest = SlaPolicy.objects.aggregate(m=Max("warn_before_minutes"))["m"] or 0
    return dt.timedelta(minutes=longest)


def _sla_warn_soon(now: dt.datetime) -> int:
    """Deadlines in their warning window: the clock runs, the warning time passed, the deadline not yet.

    The warning times looked at are bounded below by the longest window, so the index range holds only the
    tickets entering their window, not every overdue one.
    """
    since = now - _warn_window()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO feedback_slawarning (ticket_id, kind, due_at, created_at, notified_at)
                SELECT id,
                       CASE WHEN first_responded_at IS NULL THEN %(first)s ELSE %(resolution)s END,
                       next_due_at, %(now)s, NULL
                FROM feedback_ticket
                WHERE status IN ('new', 'open') AND next_warn_at <= %(now)s AND next_warn_at >= %(since)s
                  AND next_due_at > %(now)s
                ON CONFLICT (ticket_id, kind) DO NOTHING
                """,
                {
                    "first": SlaWarning.Kind.FIRST_RESPONSE_SOON,
                    "resolution": SlaWarning.Kind.RESOLUTION_SOON,
                    "now": now,
                    "since": since,
                },
            )
            return max(cursor.rowcount, 0)
    candidates = {
        (pk, SlaWarning.Kind.FIRST_RESPONSE_SOON if responded is None else SlaWarning.Kind.RESOLUTION_SOON): due
        for pk, responded, due in Ticket.objects.filter(
            status__in=CLOCK_STATUSES, next_warn_at__lte=now, next_warn_at__gte=since, next_due_at__gt=now
        )
        .order_by()
        .values_list("pk", "first_responded_at", "next_due_at")
    }
    if not candidates:
        return 0
    raised = set(
        SlaWarning.objects.filter(
            ticket_id__in={pk for pk, _kind in candidates},
            kind__in=[SlaWarning.Kind.FIRST_RESPONSE_SOON, SlaWarning.Kind.RESOLUTION_SOON],
        ).values_list("ticket_id", "kind")
    )
    new = [
        SlaWarning(ticket_id=pk, kind=kind, due_at=due, created_at=now)
        for (pk, kind), due in candidates.items()
        if (pk, kind) not in raised
    ]
    SlaWarning.objects.bulk_create(new, ignore_conflicts=True, batch_size=SLA_CHUNK)
    return len(new)


def _sla_breaches(now: dt.datetime, *, kind: str, due_field: str, done_field: str, flag: str) -> int:
    """Flag the deadlines that passed unmet and raise one breach warning for each (once: see ``sla_check``)."""
    if connection.vendor == "postgresql":
        # Column names come from DEADLINES above, never from input.
        sql = f"""
            WITH flagged AS (
                UPDATE feedback_ticket SET {flag} = true
                WHERE status IN ('new', 'open') AND {done_field} IS NULL AND NOT {flag} AND {due_field} <= %(now)s
                RETURNING id, {due_field} AS due_at
            )
            INSERT INTO feedback_slawarning (ticket_id, kind, due_at, created_at, notified_at)
            SELECT id, %(kind)s, due_at, %(now)s, NULL FROM flagged
            ON CONFLICT (ticket_id, kind) DO NOTHING
        """  # noqa: S608
        with connection.cursor() as cursor:
            cursor.execute(sql, {"now": now, "kind": kind})
            return max(cursor.rowcount, 0)
    total = 0
    while True:
        rows = list(
            Ticket.objects.filter(
                **{f"{done_field}__isnull": True, flag: False, f"{due_field}__lte": now}, status__in=CLOCK_STATUSES
            )
            .order_by(due_field)
            .values_list("pk", due_field)[:SLA_CHUNK]
        )
        if not rows:
            return total
        Ticket.objects.filter(pk__in=[pk for pk, _due in rows]).update(**{flag: True})
        SlaWarning.objects.bulk_create(
            [SlaWarning(ticket_id=pk, kind=kind, due_at=due, created_at=now) for pk, due in rows],
            ignore_conflicts=True,
        )
        total += len(rows)


def _managers() -> list[Any]:
    from customers.roles import MANAGER

    return list(
        User.objects.filter(is_active=True, groups__name=MANAGER)
        .exclude(email="")
        .only("id", "email", "username", "first_name", "last_name")
        .distinct()
    )


@dataclass(frozen=True)
class _Told:
    ticket_id: int
    kind: str
    due_at: dt.datetime
    subject: str
    assignee_id: int | None


def sla_warnings_notify(*, now: dt.datetime | None = None) -> tuple[int, int]:
    """Mail the warnings not yet told: one digest per recipient (the assignee, and every manager).

    Returns (warnings told, mails sent). The warnings are claimed and marked in one statement (a parallel run
    claims none of them) and the mail goes out in the same transaction: if sending fails, nothing is marked
    and the next run tries again.
    """
    now = now or timezone.now()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    """
                    WITH claimed AS (
                        UPDATE feedback_slawarning SET notified_at = %(now)s
                        WHERE id IN (
                            SELECT id FROM feedback_slawarning WHERE notified_at IS NULL
                            ORDER BY created_at, id LIMIT %(limit)s FOR UPDATE SKIP LOCKED
                        )
                        RETURNING ticket_id, kind, due_at
                    )
                    SELECT c.ticket_id, c.kind, c.due_at, t.subject, t.assignee_id
                    FROM claimed c JOIN feedback_ticket t ON t.id = c.ticket_id
                    """,
                    {"now": now, "limit": NOTIFY_MAX},
                )
                told = [_Told(*row) for row in cursor.fetchall()]
        else:
            pending = list(
                SlaWarning.objects.filter(notified_at__isnull=True)
                .order_by("created_at", "id")
                .values_list("pk", "ticket_id", "kind", "due_at", "ticket__subject", "ticket__assignee_id")[:NOTIFY_MAX]
            )
            SlaWarning.objects.filter(pk__in=[row[0] for row in pending]).update(notified_at=now)
            told = [_Told(*row[1:]) for row in pending]
        if not told:
            return 0, 0
        managers = _managers()
        manager_ids = {m.pk for m in managers}
        assignee_ids = {w.assignee_id for w in told if w.assignee_id and w.assignee_id not in manager_ids}
        assignees = {
            u.pk: u
            for u in User.objects.filter(pk__in=assignee_ids, is_active=True)
            .exclude(email="")
            .only("id", "email", "username", "first_name", "last_name")
        }
        by_assignee: dict[int, list[_Told]] = defaultdict(list)
        for warning in told:
            if warning.assignee_id in assignees:
                by_assignee[warning.assignee_id].append(warning)
        mails = [_digest_mail(manager, told) for manager in managers]
        mails += [_digest_mail(assignees[pk], warnings) for pk, warnings in by_assignee.items()]
        if mails:
            with get_connection() as mail_connection:
                mail_connection.send_messages(mails)
    logger.info("sla warnings told n=%d mails=%d", len(told), len(mails))
    return len(told), len(mails)


def _digest_mail(user: Any, warnings: list[_Told]) -> EmailMessage:
    """A plain-text digest: the most urgent ``DIGEST_LINES`` warnings, and how many more."""
    tz = timezone.get_default_timezone()
    ticket_prefix = site_url(reverse("feedback:ticket_detail", args=[1]).removesuffix("1/"))
    with translation.override(settings.LANGUAGE_CODE):
        labels = {value: str(label) for value, label in SlaWarning.Kind.choices}
        breached = sum(1 for w in warnings if w.kind.endswith("breached"))
        subject = ngettext(
            "[%(shop)s] SLA: %(n)d ticket needs attention (%(breached)d overdue)",
            "[%(shop)s] SLA: %(n)d tickets need attention (%(breached)d overdue)",
            len(warnings),
        ) % {
            "shop": settings.TSUNAGU_SHOP_NAME,
            "n": len(warnings),
            "breached": breached,
        }
        top = heapq.nsmallest(DIGEST_LINES, warnings, key=lambda w: (w.due_at, w.ticket_id))
        lines = [
            f"{format_reference(w.ticket_id)} · {labels.get(w.kind, w.kind)} · "
            f"{w.due_at.astimezone(tz):%Y-%m-%d %H:%M} · {w.subject}\n  {ticket_prefix}{w.ticket_id}/"
            for w in top
        ]
        if len(warnings) > DIGEST_LINES:
            lines.append(_("… and %(n)d more: see the “Breaching soon” queue.") % {"n": len(warnings) - DIGEST_LINES})
        body = "\n".join(lines) + "\n\n" + site_url(reverse("feedback:queue") + "?queue=breaching") + "\n"
    return EmailMessage(subject=subject, body=body, to=[user.email])
