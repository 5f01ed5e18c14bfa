"""The public feedback form and the website widget: anyone may write, so the customer is found or created
by email, without marketing consent."""

from __future__ import annotations

from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from customers.models import Customer
from customers.services import customer_create

from ..models import Ticket
from .tickets import ticket_open
from .validation import BODY_MAX, NAME_MAX, _choice, _text

THANKS_SALT = "feedback.form.thanks"


def _customer_for_email(*, email: str, name: str, language: str, source: str, looked_up: bool = False) -> Customer:
    """The customer with this email (ignoring case), or a new one, WITHOUT marketing consent. ``looked_up``: the
    caller has just found no customer with this email (in this transaction): no second look."""
    email = (email or "").strip().lower()
    customer = None if looked_up else Customer.objects.with_email(email).first()
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
        # customer_create rolls its own savepoint back on a clash: the transaction stays usable for the look-up.
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
