"""What a customer writes back, on any channel, joins their conversation: a message on the ticket it answers,
or a new ticket when it answers none.

The channels (touchpoints/outreach: email's mailboxes, LINE's webhook) decide which ticket a message answers
(threading is theirs: Message-IDs, tokens, a LINE user's open ticket) and store the raw input first; this
service writes the conversation. It is idempotent on the channel's message id, so a mail fetched twice or a
webhook delivered twice is one message.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import Truncator
from django.utils.translation import gettext as _

from customers.models import Customer
from customers.services import customer_touch

from .. import events
from ..models import Status, Ticket, TicketMessage
from .delivery import _after_commit, _touchpoint_record
from .tickets import TOUCHPOINT_CHANNELS, _apply_status, _lock, ticket_open
from .validation import BODY_MAX, SUBJECT_MAX, _choice

logger = logging.getLogger(__name__)

# A customer's message moves the ticket back into the agent's hands.
REOPEN = {Status.RESOLVED: Status.OPEN, Status.WAITING: Status.OPEN}


def _fit(text: str) -> str:
    """The message as the conversation shows it: NULs dropped, cut to BODY_MAX (the channel keeps the whole)."""
    text = (text or "").replace("\x00", "").replace("\r\n", "\n").strip()
    if len(text) > BODY_MAX:
        marker = "\n\n" + _("[The message was cut here: the whole message is kept with the ticket.]")
        text = text[: BODY_MAX - len(marker)] + marker
    return text


def _subject(subject: str, text: str) -> str:
    line = " ".join((subject or "").replace("\x00", "").split())
    if not line:
        first = next((row for row in (text or "").splitlines() if row.strip()), "")
        line = " ".join(first.split()) or _("(no subject)")
    return Truncator(line).chars(SUBJECT_MAX)


def _stored(channel: str, external_id: str) -> TicketMessage | None:
    if not external_id:
        return None
    return TicketMessage.objects.filter(channel=channel, external_id=external_id).select_related("ticket").first()


# No savepoint of its own: the channels call it inside their own transaction per message (a mail's processing, a
# LINE event's), which rolls back whole on an error; a savepoint here cost two statements per message.
@transaction.atomic(savepoint=False)
def ticket_receive(
    *,
    customer: Customer,
    channel: str,
    text: str,
    ticket: Ticket | None = None,
    subject: str = "",
    external_id: str = "",
    sender: str = "",
    automatic: bool = False,
    assignee=None,
    now: dt.datetime | None = None,
    claimed: bool = False,
) -> TicketMessage | None:
    """Write what ``customer`` sent on ``channel`` into ``ticket`` (or a new ticket when ``ticket`` is None or
    closed). Returns the message (``replayed`` True when ``external_id`` was stored before, ``opened_ticket`` True
    when it opened a ticket), or None for an automatic message (an out-of-office) that answers no open ticket:
    automatic mail never opens a ticket and never moves one.

    A message on a resolved or waiting ticket opens it again and restarts its SLA clock as the rules say.
    ``assignee`` is who a new ticket goes to (the mailbox's agent); an existing ticket keeps its own.
    ``claimed``: the caller holds the channel's row of this message (a mail claimed for processing), so no other
    worker writes it meanwhile: a new ticket then costs no savepoint against that race.
    """
    _choice(channel, Ticket.Channel.values, name="channel")
    external_id = (external_id or "").replace("\x00", "")[:255]
    sender = (sender or "").replace("\x00", "")[:320]
    now = now or timezone.now()
    stored = _stored(channel, external_id)
    if stored is not None:
        stored.replayed, stored.opened_ticket = True, False
        return stored
    if ticket is not None and ticket.customer_id != customer.pk:
        raise ValueError("a customer's message joins only that customer's tickets")
    body = _fit(text)
    locked = _lock(ticket) if ticket is not None else None
    if locked is None or locked.status == Status.CLOSED:
        if automatic:
            return None
        return _open(
            customer=customer,
            channel=channel,
            subject=subject,
            body=body,
            external_id=external_id,
            sender=sender,
            assignee=assignee,
            now=now,
            claimed=claimed,
        )
    try:
        with transaction.atomic():
            message = TicketMessage.objects.create(
                ticket=locked,
                customer_id=locked.customer_id,
                kind=TicketMessage.Kind.INBOUND,
                body=body,
                channel=channel,
                external_id=external_id,
                sender=sender,
                created_at=now,
            )
    except IntegrityError:  # the same message, stored meanwhile by another worker
        stored = _stored(channel, external_id)
        if stored is None:
            raise
        stored.replayed, stored.opened_ticket = True, False
        return stored
    from_status = locked.status
    to_status = None if automatic else REOPEN.get(from_status)
    if to_status:
        _apply_status(locked, to_status, now=now, by=None)  # never a resolve: nothing to do after
    if not automatic:
        locked.customer_replied_at = now  # "New reply" in the queue until an agent answers
    locked.save()
    customer_touch(customer_id=locked.customer_id, at=now)
    _touchpoint_record(
        customer=locked.customer,
        slug="support",
        key=f"feedback:ticket:{locked.pk}:inbound:{message.pk}",
        summary=_("%(reference)s: the customer wrote") % {"reference": locked.reference},
        channel=TOUCHPOINT_CHANNELS.get(channel, "other"),
        direction="inbound",
        metadata={"ticket": locked.pk, "message": message.pk},
        at=now,
    )
    _after_commit(events.ticket_customer_replied, ticket=locked, message=message, from_status=from_status)
    logger.info("ticket inbound id=%s message=%s channel=%s", locked.pk, message.pk, channel)
    message.ticket = locked
    message.replayed, message.opened_ticket = False, False
    return message


def _open(
    *,
    customer: Customer,
    channel: str,
    subject: str,
    body: str,
    external_id: str,
    sender: str,
    now: dt.datetime,
    assignee=None,
    claimed: bool = False,
) -> TicketMessage:
    # Two workers storing the same new mail race here: the ticket's idempotency key lets one ticket win.
    key = f"inbound:{channel}:{hashlib.sha256(external_id.encode()).hexdigest()[:48]}" if external_id else ""
    ticket = ticket_open(
        customer=customer,
        subject=_subject(subject, body),
        body=body,
        channel=channel,
        by=None,
        now=now,
        idempotency_key=key,
        assignee=assignee,
        opening={"channel": channel, "external_id": external_id, "sender": sender},
        savepoint=not claimed,  # a claimed message's caller holds a transaction or savepoint of its own
    )
    if ticket.replayed:
        opened = TicketMessage.objects.filter(ticket=ticket, kind=TicketMessage.Kind.OPENED).get()
        opened.ticket = ticket
        opened.replayed, opened.opened_ticket = True, False
        return opened
    opened = ticket.opened_message  # written by ticket_open just now, with the channel's id and sender
    opened.ticket = ticket
    opened.replayed, opened.opened_ticket = False, True
    return opened
