"""The public form's confirmation: a message is held until its sender confirms the address by a signed,
expiring, single-use link mailed (transactional, through the outbox) to that address; only the confirmation
opens the ticket. A stranger who types someone else's email attaches nothing: the real owner gets the link."""

from __future__ import annotations

import datetime as dt
import logging
import unicodedata
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Customer
from customers.phones import normalize_phone
from customers.services import customer_update

from ..models import PendingSubmission, Ticket
from . import photos
from .delivery import _message_enqueue, site_url
from .public_form import _customer_for_email, subject_from_message
from .tickets import ticket_open
from .validation import BODY_MAX, NAME_MAX, ORDER_REFERENCE_MAX, _choice, _text

logger = logging.getLogger(__name__)
CONFIRM_SALT = "feedback.form.confirm"


def confirm_token(pending: PendingSubmission) -> str:
    return signing.dumps(pending.pk, salt=CONFIRM_SALT)


@transaction.atomic
def feedback_submit_pending(
    *,
    name: str,
    email: str,
    kind: str,
    message: str,
    language: str = "ja",
    order_reference: str = "",
    phone: str = "",
    photo: Any = None,
) -> PendingSubmission:
    """Hold a public-form message (with its optional order number, phone and photo) and mail the confirmation
    link to the address given. The customer is found by email, or created without marketing consent (as before),
    so that the outbox can mail them. The email may be typed full width (ｈａｎａ＠…): it is NFKC-normalised."""
    name = _text(name, name="name", limit=NAME_MAX, single_line=True)
    message = _text(message, name="message", limit=BODY_MAX, required=True)
    order_reference = _text(order_reference, name="order_reference", limit=ORDER_REFERENCE_MAX, single_line=True)
    _choice(kind, Ticket.Kind.values, name="kind")
    email = unicodedata.normalize("NFKC", email or "").strip()
    if not email:
        raise ValidationError({"email": _("This field is required.")})
    try:
        phone = normalize_phone(phone or "")
    except ValidationError as exc:
        raise ValidationError({"phone": exc.messages}) from exc
    if photo is not None:
        photos.photo_check(photo)  # before anything is written
    customer = _customer_for_email(email=email, name=name, language=language, source=Customer.Source.WEB)
    pending = PendingSubmission.objects.create(
        customer=customer,
        name=name,
        kind=kind,
        subject=(subject_from_message(message) or Ticket.Kind(kind).label)[:200],
        message=message,
        order_reference=order_reference,
        phone=phone,
    )
    if photo is not None:
        photos.photo_attach_pending(pending=pending, upload=photo)
    link = site_url(reverse("feedback:confirm", args=[confirm_token(pending)]))
    hours = settings.TSUNAGU_FEEDBACK_CONFIRM_HOURS
    _message_enqueue(
        customer=customer,
        key=f"feedback:confirm:{pending.pk}",
        purpose="transactional",
        subject=_("Please confirm your message"),
        body=_(
            "We received a message sent with this email address through our contact form. To send it to us, "
            "open this link within %(hours)d hours and confirm:\n\n%(link)s\n\nIf you did not write to us, "
            "ignore this mail: nothing will be sent."
        )
        % {"hours": hours, "link": link},
        source_ref=f"form:{pending.pk}",
    )
    logger.info("feedback form message held pending=%s customer=%s", pending.pk, customer.pk)
    return pending


class ConfirmError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def pending_from_token(token: str) -> PendingSubmission:
    """The held message the link names; ConfirmError says clearly why a link cannot be used."""
    max_age = settings.TSUNAGU_FEEDBACK_CONFIRM_HOURS * 3600
    try:
        pk = signing.loads(token, salt=CONFIRM_SALT, max_age=max_age)
    except signing.SignatureExpired:
        raise ConfirmError(_("This link has expired. Please send your message again.")) from None
    except signing.BadSignature:
        raise ConfirmError(_("This link is not valid. Please copy the whole link from the mail.")) from None
    pending = PendingSubmission.objects.filter(pk=pk).first() if isinstance(pk, int) else None
    if pending is None:
        raise ConfirmError(_("This link is not valid. Please copy the whole link from the mail."))
    if pending.confirmed_at is not None:
        raise ConfirmError(_("This link was already used: your message was sent."))
    return pending


@transaction.atomic
def feedback_confirm(*, token: str) -> Ticket:
    """Open the ticket of a held message, once: the row is claimed by a conditional UPDATE, so a second
    click (or two at once) opens nothing more."""
    pending = pending_from_token(token)
    claimed = PendingSubmission.objects.filter(pk=pending.pk, confirmed_at__isnull=True).update(
        confirmed_at=timezone.now()
    )
    if not claimed:
        raise ConfirmError(_("This link was already used: your message was sent."))
    ticket = ticket_open(
        customer=pending.customer,
        subject=pending.subject,
        body=pending.message,
        kind=pending.kind,
        channel=Ticket.Channel.WEB_FORM,
        idempotency_key=f"form-confirm:{pending.pk}",
        order_reference=pending.order_reference,
        confirm=True,
    )
    PendingSubmission.objects.filter(pk=pending.pk).update(ticket=ticket)
    photos.photos_move_to_ticket(pending=pending, ticket=ticket)
    _phone_keep(pending)
    logger.info("feedback form message confirmed pending=%s ticket=%s", pending.pk, ticket.pk)
    return ticket


def _phone_keep(pending: PendingSubmission) -> None:
    """The phone given on a confirmed message goes on the customer: their number if they had none, else their
    other number if that is free; a number already on file changes nothing."""
    customer = Customer.objects.get(pk=pending.customer_id)
    if not pending.phone or pending.phone in (customer.phone, customer.secondary_phone):
        return
    field = "phone" if not customer.phone else "secondary_phone" if not customer.secondary_phone else ""
    if field:
        customer_update(customer=customer, data={field: pending.phone})


def pending_submissions_purge() -> int:
    """Forget held messages once their link has expired (they hold what a stranger may have typed under
    someone's address), and their photos; a confirmed one's text and photo are on its ticket. Safe to run twice."""
    cutoff = timezone.now() - dt.timedelta(hours=settings.TSUNAGU_FEEDBACK_CONFIRM_HOURS)
    expired = PendingSubmission.objects.filter(created_at__lt=cutoff)
    photos.photos_forget_pending(list(expired.values_list("pk", flat=True)))
    deleted, _rows = expired.delete()
    return deleted
