"""LINE messages join the customer's conversation (registered in FeedbackConfig.ready()).

The LINE channel (touchpoints/outreach/line) stores each webhook event and hands a linked customer's message
here as an ``Inbound``. The rule: the message joins the customer's newest LINE ticket that is not closed and
was active within ``LINE_TICKET_JOIN_DAYS`` days (a resolved one opens again); otherwise it opens a new ticket.
Idempotent on the LINE message id (``ticket_receive``).
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone

from customers.models import Customer
from touchpoints.outreach.inbound import Inbound

from .models import Status, Ticket, TicketMessage
from .services import ticket_receive


def line_ticket_for(customer: Customer, *, now: dt.datetime | None = None) -> Ticket | None:
    """The ticket a LINE message from ``customer`` joins (None: a new one)."""
    now = now or timezone.now()
    since = now - dt.timedelta(days=settings.LINE_TICKET_JOIN_DAYS)
    return (
        Ticket.objects.filter(customer=customer, channel=Ticket.Channel.LINE, updated_at__gte=since)
        .exclude(status=Status.CLOSED)
        .order_by("-updated_at", "-pk")
        .first()
    )


def receive_line(message: Inbound) -> TicketMessage | None:
    if message.channel != "line" or message.customer_id is None:
        return None
    customer = Customer.objects.filter(pk=message.customer_id).first()
    if customer is None:
        return None
    return ticket_receive(
        customer=customer,
        channel=Ticket.Channel.LINE,
        text=message.text,
        ticket=line_ticket_for(customer, now=message.received_at),
        external_id=message.external_id,
        sender=message.sender,
        now=message.received_at,
    )
