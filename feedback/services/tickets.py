"""Tickets: opening, status moves along ``TRANSITIONS``, replies and notes, edits. Opening a ticket records a
"support" touchpoint; resolving one sends a CSAT survey."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from customers.models import Customer
from customers.services import customer_touch
from touchpoints.outreach import outbox

from .. import events, sla
from ..models import CLOCK_STATUSES, Status, Survey, Ticket, TicketMessage
from . import surveys  # surveys open follow-up tickets: a cycle, so each imports the other's module
from .delivery import _after_commit, _message_enqueue, _touchpoint_record
from .sla_deadlines import (
    _calendar,
    _sla_refresh,
    _sla_reprioritise,
    _sla_resume,
    _sla_start,
    _uses_business_hours,
    sla_policy_for,
)
from .tags import tags_get_or_create
from .validation import BODY_MAX, ORDER_REFERENCE_MAX, SUBJECT_MAX, _check_assignee, _choice, _text

logger = logging.getLogger(__name__)


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


RECEIVED_TEMPLATE = "feedback-received"


def transition_allowed(from_status: str, to_status: str) -> bool:
    return to_status in TRANSITIONS.get(from_status, frozenset())


def allowed_transitions(status: str) -> list[str]:
    """The statuses a ticket in ``status`` may move to, in the order of ``Status``."""
    targets = TRANSITIONS.get(status, frozenset())
    return [value for value in Status.values if value in targets]


def ticket_open(
    *,
    customer: Customer,
    subject: str,
    subject_key: str = "",
    subject_params: dict | None = None,
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
    opening: dict[str, str] | None = None,
    savepoint: bool = True,
) -> Ticket:
    """Open a ticket: its SLA due times, its tags, a "support" touchpoint, and (``confirm``) a confirmation
    mail with its reference. A replayed ``idempotency_key`` returns the first ticket (``replayed = True``).

    ``opening``: fields of the opening message (a channel's ``external_id`` and ``sender``). ``savepoint=False``
    for a caller that runs each call in a transaction or savepoint of its own (a batch of inbound mail: one
    savepoint per mail, not one per service call); a clash on ``idempotency_key`` with a concurrent writer then
    rolls the caller's block back (its retry finds the first ticket) instead of answering with the first ticket.
    """
    with transaction.atomic(savepoint=savepoint):
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
            subject_key=subject_key,
            subject_params=subject_params or {},
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
            with transaction.atomic(savepoint=savepoint):
                ticket.save()
        except IntegrityError:
            if not savepoint:
                raise
            existing = Ticket.objects.filter(idempotency_key=idempotency_key).first() if idempotency_key else None
            if existing is None:
                raise
            existing.replayed = True
            return existing
        if tags:
            ticket.tags.set(tags_get_or_create(tags))
        ticket.opened_message = TicketMessage.objects.create(
            ticket=ticket,
            customer=customer,
            kind=TicketMessage.Kind.OPENED,
            author=by,
            created_at=now,
            **(opening or {}),
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
    # No touchpoint: resolving is no contact with the customer (it was logged as an outbound call on the ticket's
    # channel that never happened, issue 20). The reply that resolved it is the ticket's own timeline entry.
    # Follow-up tickets close a loop opened by a survey answer: no survey about the survey.
    if not ticket.is_follow_up:
        surveys.survey_create(customer=ticket.customer, kind=Survey.Kind.CSAT, ticket=ticket, source="ticket", by=by)


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
        locked.customer_replied_at = None  # answered: no longer a new reply in the queue
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
        # The reply's Message-ID on the email channel: the customer's answer names it in In-Reply-To.
        message.channel, message.external_id = "email", outbox.message_id_for(message.outbox_key)
        message.save(update_fields=["outbox_key", "outbound", "channel", "external_id"])
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
    if ticket.channel == Ticket.Channel.LINE and outbox.line_reachable(customer):
        # A LINE conversation is answered on LINE (by the reply token while it is fresh, by push after).
        return _message_enqueue(
            customer=customer,
            key=message.outbox_key,
            purpose="transactional",
            subject=message.body.splitlines()[0][:100] if message.body else ticket.reference,
            body=message.body,
            source_ref=ticket.reference,
            channel="line",
        )
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
        subject = _text(data["subject"], name="subject", limit=SUBJECT_MAX, required=True, single_line=True)
        # The form shows a system subject in the reader's language: sent back unchanged, it stays a key;
        # changed, it is the staff's own text from then on.
        if subject not in (locked.subject, locked.display_subject):
            locked.subject, locked.subject_key, locked.subject_params = subject, "", {}
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


def ticket_assign(*, ticket: Ticket, assignee: AbstractBaseUser | None, by: AbstractBaseUser | None) -> Ticket:
    return ticket_update(ticket=ticket, data={"assignee": assignee}, by=by)
