"""Email that customers send in, threaded into tickets (registered with touchpoints.outreach.inbound).

The mail channel (touchpoints/outreach/channels/mailbox/) stores a mail, handles bounces, unsubscribes, loops and
Tsunagu's own mail, and hands the rest here as an ``Inbound``. A mail joins a ticket, in this order:
1. In-Reply-To / References naming a Message-ID Tsunagu sent (a reply's, kept on its TicketMessage) or received;
2. the signed per-ticket token in the address it was sent to (``support+t123-<mac>@…``, the Reply-To of ticket
   mail);
3. the ``[T-000123]`` reference in the subject, only when the sender is that ticket's customer (anyone can type a
   reference: a stranger's mail must not land in someone's conversation).
Otherwise the sender (matched by email ignoring case, or created without marketing consent, as the public form
does) gets a new ticket on the email channel. Automatic mail (an out-of-office) may join a ticket but never opens
or moves one (``ticket_receive``).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model

from customers.models import Customer
from touchpoints.outreach import outbox
from touchpoints.outreach.channels.mailbox.models import Mailbox
from touchpoints.outreach.inbound import Inbound, batch_memo

from .models import Ticket, TicketMessage
from .references import format_reference, parse_reference
from .services import ticket_receive
from .services.public_form import _customer_for_email

logger = logging.getLogger(__name__)

TOKEN_SALT = "feedback.ticket.reply-address"  # noqa: S105 (a salt, not a secret)
_TOKEN = re.compile(r"\+t(\d{1,15})-([0-9a-f]{12})@", re.IGNORECASE)
_SUBJECT_REFERENCE = re.compile(r"\[\s*(T-\d{1,15})\s*\]", re.IGNORECASE)
LEGACY_REPLY_SCAN = 200  # replies written before their Message-ID was kept, searched per sender


# --- The reply address --------------------------------------------------------------------------------------


def _mac(ticket_id: int) -> str:
    key = hashlib.sha256((TOKEN_SALT + settings.SECRET_KEY).encode()).digest()
    return hmac.new(key, str(ticket_id).encode(), hashlib.sha256).hexdigest()[:12]


def reply_token(ticket_id: int) -> str:
    """``t<id>-<mac>``: lower case only, since mail systems may change the case of an address's local part."""
    return f"t{ticket_id}-{_mac(ticket_id)}"


def support_address() -> str:
    """The address customers reply to: ``TSUNAGU_SUPPORT_ADDRESS``, else the first active support mailbox."""
    configured = (getattr(settings, "TSUNAGU_SUPPORT_ADDRESS", "") or "").strip()
    if configured:
        return configured
    mailbox = (
        Mailbox.objects.filter(purpose=Mailbox.Purpose.SUPPORT, is_active=True).order_by("pk").only("address").first()
    )
    return mailbox.address if mailbox else ""


def reply_address(ticket_id: int) -> str:
    """The support address with the ticket's signed token (``support+t123-<mac>@example.jp``), "" when no
    support mailbox is configured."""
    address = support_address()
    if "@" not in address:
        return ""
    local, domain = address.rsplit("@", 1)
    return f"{local}+{reply_token(ticket_id)}@{domain}"


def ticket_id_from_addresses(addresses: Any) -> int | None:
    for address in addresses or ():
        match = _TOKEN.search(address)
        if match and hmac.compare_digest(match.group(2).lower(), _mac(int(match.group(1)))):
            return int(match.group(1))
    return None


def outbound_headers(message: Any) -> dict[str, str]:
    """Headers of feedback's mail in the outbox (registered in apps.py): a ticket's mail says where replies go;
    the automatic confirmation of a new ticket says it is one (RFC 3834), so auto-responders do not answer it."""
    headers: dict[str, str] = {}
    ticket_id = parse_reference(message.source_ref) if message.source_ref.upper().startswith("T-") else None
    if ticket_id:
        address = reply_address(ticket_id)
        if address:
            headers["Reply-To"] = address
    if message.key.startswith("feedback:ticket:") and message.key.endswith(":received"):
        headers["Auto-Submitted"] = "auto-replied"  # answers the customer's message
    elif message.key.startswith("feedback:confirm:"):
        headers["Auto-Submitted"] = "auto-generated"  # the public form's address check
    return headers


# --- Threading ----------------------------------------------------------------------------------------------


def _by_references(references: Any, sender: str) -> Ticket | None:
    refs = [r for r in references or () if r][:50]
    if not refs:
        return None
    found = (
        TicketMessage.objects.filter(channel="email", external_id__in=refs)
        .select_related("ticket")
        .only("external_id", "ticket")
    )
    by_id = {m.external_id: m.ticket for m in found}
    for ref in refs:  # the most direct answer first
        if ref in by_id:
            return by_id[ref]
    # Replies written before their Message-ID was kept: the sender's own replies, recomputed.
    if sender:
        wanted = set(refs)
        legacy = (
            TicketMessage.objects.filter(
                customer__in=Customer.objects.with_email(sender), kind=TicketMessage.Kind.REPLY, external_id=""
            )
            .exclude(outbox_key="")
            .select_related("ticket")
            .order_by("-created_at")[:LEGACY_REPLY_SCAN]
        )
        for message in legacy:
            if outbox.message_id_for(message.outbox_key) in wanted:
                return message.ticket
    return None


def _by_subject(subject: str, customer: Customer | None) -> Ticket | None:
    if customer is None:
        return None
    match = _SUBJECT_REFERENCE.search(subject or "")
    ticket_id = parse_reference(match.group(1)) if match else None
    if ticket_id is None:
        return None
    return Ticket.objects.filter(pk=ticket_id, customer=customer).first()


def ticket_for_mail(message: Inbound, *, sender: Customer | None = None) -> tuple[Ticket | None, str]:
    """The ticket a mail answers and how it was found ("" when none). ``sender``: the customer whose address sent
    it (looked up when not given)."""
    ticket = _by_references(message.references, message.sender)
    if ticket is not None:
        return ticket, "references"
    ticket_id = ticket_id_from_addresses(message.extra.get("recipients"))
    if ticket_id is not None:
        ticket = Ticket.objects.filter(pk=ticket_id).select_related("customer").first()
        if ticket is not None:
            return ticket, "token"
    if sender is None:
        sender = _sender(message)
    ticket = _by_subject(message.subject, sender)
    return (ticket, "subject") if ticket is not None else (None, "")


def _sender(message: Inbound) -> Customer | None:
    return Customer.objects.with_email(message.sender).first() if message.sender else None


def _assignee(assignee_id: int | None):
    if not assignee_id:
        return None
    return batch_memo(
        ("feedback:assignee", assignee_id),
        lambda: get_user_model().objects.filter(pk=assignee_id, is_active=True).first(),
    )


def on_inbound_email(message: Inbound) -> str | None:
    """The ``inbound.dispatch`` handler for email: the TicketMessage written, as "ticket=… message=…"."""
    if message.channel != "email":
        return None
    sender = _sender(message)  # read once: threading by subject and a new ticket both need it
    ticket, how = ticket_for_mail(message, sender=sender)
    if ticket is not None:
        customer = ticket.customer
    elif message.automatic or not message.sender:
        return None  # an out-of-office answering nothing, or no sender to answer
    else:
        customer = sender or _customer_for_email(
            email=message.sender,
            name=message.extra.get("sender_name", ""),
            language="ja",
            source=Customer.Source.WEB,
            looked_up=True,
        )
    assignee = _assignee(message.extra.get("assignee_id"))
    written = ticket_receive(
        customer=customer,
        channel=Ticket.Channel.EMAIL,
        text=message.text,
        ticket=ticket,
        subject=message.subject,
        external_id=message.external_id,
        sender=message.sender,
        automatic=message.automatic,
        assignee=assignee,  # the SLA clock runs from when Tsunagu received it, not the sender's Date header
        claimed=True,  # dispatched by the mail channel's processing, which holds the mail's row
    )
    if written is None:
        return None
    logger.info("inbound email threaded by=%s ticket=%s message=%s", how or "new", written.ticket_id, written.pk)
    return f"ticket={format_reference(written.ticket_id)} message={written.pk} by={how or 'new'}"
