"""Erasure: a customer's identity and what they or staff wrote about them are anonymised, their figures kept.

Nothing is deleted that a figure counts: the customer row stays (their creation day, source and owner), and so do
their touchpoints (amounts, days), tickets (times, statuses, SLA), survey scores, memberships and the ledger (the
ledger is append-only, and its reasons are the system's words or a staff member's for an adjustment). What goes:
names, kana, email, phone, address, birthday, external id and consent evidence; the text of notes, touchpoint
summaries and metadata, tickets and their messages, outbound messages (their address too), staff tasks' notes,
survey comments, stage-change reasons, merge records, unconfirmed form messages, the CSV uploads that held a row of
theirs; and the same values in the change history's rows (django-pghistory) for this customer. Their member cards
are revoked (a link, a phone or the till opens them no more).

Each step writes only the rows that still hold something, so erasing again changes nothing.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.utils import timezone

from crm.audit import models as audit_models
from crm.audit.context import history_enabled
from customers.models import Customer, CustomerMerge, Note
from customers.services import import_batches_forget_customer
from feedback.models import Survey, Ticket, TicketMessage
from feedback.submissions import FeedbackPhoto, PendingSubmission
from loyalty.models import MemberCard, Redemption
from touchpoints.models import StageTransition, Touchpoint
from touchpoints.outreach.channels.mailbox.models import InboundAttachment, InboundMail
from touchpoints.outreach.line.models import LineLinkRequest, LineUser, LineWebhookEvent
from touchpoints.outreach.models import OutboundMessage, StaffTask

ERASED = "[erased]"  # stored, in no language: shown as it is wherever the name or a subject is required

# The customer's identifying fields and what they become.
CUSTOMER_ANONYMOUS: dict[str, Any] = {
    "family_name": ERASED,
    "given_name": "",
    "family_name_kana": "",
    "given_name_kana": "",
    "email": "",
    "phone": "",
    "secondary_email": "",
    "secondary_phone": "",
    "birth_date": None,
    "company": "",
    "postal_code": "",
    "region": "",
    "city": "",
    "address_line1": "",
    "address_line2": "",
    "external_id": "",
    "consent_evidence": "",
}


def is_anonymous(customer: Customer) -> bool:
    return all(getattr(customer, name) == value for name, value in CUSTOMER_ANONYMOUS.items())


def _customer(customer: Customer) -> int:
    changed = {name: value for name, value in CUSTOMER_ANONYMOUS.items() if getattr(customer, name) != value}
    # Never contacted again, and no marketing consent left to act on.
    if customer.marketing_consent:
        changed["marketing_consent"] = False
    if not customer.do_not_contact:
        changed["do_not_contact"] = True
    if not changed:
        return 0
    for name, value in changed.items():
        setattr(customer, name, value)
    customer.derive_fields()
    # An UPDATE, not save(): no signal reads a customer half erased as a change a rule should act on.
    return Customer.objects.filter(pk=customer.pk).update(
        **changed, name_sort=customer.name_sort, search_text=customer.search_text, updated_at=timezone.now()
    )


def _history(customer_id: int) -> int:
    """The change history's copies of the same values: every version of the profile, every note's text, of this
    customer and of the records merged into it (their rows name the merged record's id)."""
    if not history_enabled():
        return 0
    merged = CustomerMerge.objects.filter(customer_id=customer_id).values_list("merged_customer_id", flat=True)
    ids = [customer_id, *merged]
    events = audit_models.CustomerEvent.objects.filter(pgh_obj_id__in=ids)
    still = Q()
    for name, value in CUSTOMER_ANONYMOUS.items():
        still |= ~Q(**{name: value}) if value is not None else Q(**{f"{name}__isnull": False})
    count = events.filter(still).update(**CUSTOMER_ANONYMOUS)
    notes = audit_models.NoteEvent.objects.filter(customer_id__in=ids).exclude(body=ERASED)
    return count + notes.update(body=ERASED)


def customer_anonymise(*, customer: Customer) -> dict[str, int]:
    """Anonymise one customer (inside the caller's transaction); returns how many rows of each kind changed."""
    pk = customer.pk
    queued = OutboundMessage.Status.QUEUED
    counts = {
        "customer": _customer(customer),
        "notes": Note.objects.filter(customer_id=pk).exclude(body=ERASED).update(body=ERASED),
        "touchpoints": Touchpoint.objects.filter(customer_id=pk)
        .exclude(summary="", metadata={})
        .update(summary="", metadata={}),
        "stage_changes": StageTransition.objects.filter(customer_id=pk).exclude(reason="").update(reason=""),
        "tickets": Ticket.objects.filter(customer_id=pk)
        .exclude(subject=ERASED, body="")
        .update(subject=ERASED, body=""),
        "inbound_mail": _inbound_mail(pk),
        "line": _line(pk),  # before the messages: their channel ids name the mail
        "ticket_messages": TicketMessage.objects.filter(customer_id=pk)
        .exclude(body="", sender="")
        .update(body="", sender=""),
        # A message still waiting is not sent to an address that is gone: skipped, like any do-not-contact.
        "outbound_skipped": OutboundMessage.objects.filter(customer_id=pk, status=queued).update(
            status=OutboundMessage.Status.SKIPPED, skip_reason=OutboundMessage.SkipReason.DO_NOT_CONTACT
        ),
        "outbound_messages": OutboundMessage.objects.filter(customer_id=pk)
        .exclude(to_address="", subject="", body="", last_error="")
        .update(to_address="", subject="", body="", last_error=""),
        "staff_tasks": StaffTask.objects.filter(customer_id=pk).exclude(note="").update(note=""),
        "surveys": Survey.objects.filter(customer_id=pk).exclude(comment="").update(comment=""),
        "redemptions": Redemption.objects.filter(membership__customer_id=pk)
        .exclude(cancel_reason="")
        .update(cancel_reason=""),
        # The member card opens no more: not its links, not a phone signed in to it, not its QR code at the till.
        "member_cards": MemberCard.objects.filter(membership__customer_id=pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        ),
        "merges": CustomerMerge.objects.filter(customer_id=pk).exclude(merged_data={}).update(merged_data={}),
        "photos": _photos(pk),  # before the form messages: a held message's photo names it
        "form_messages": PendingSubmission.objects.filter(customer_id=pk).delete()[0],
        "uploads": import_batches_forget_customer(customer_id=pk),
    }
    counts["history"] = _history(pk)  # last: the updates above wrote "before" rows holding the old values
    return {name: n for name, n in counts.items() if n}


def _photos(pk: int) -> int:
    """The photos sent with the customer's form messages, on their tickets or still held: files and rows."""
    erased = 0
    for photo in FeedbackPhoto.objects.filter(Q(ticket__customer_id=pk) | Q(pending__customer_id=pk)):
        photo.file.delete(save=False)
        photo.delete()
        erased += 1
    return erased


def _inbound_mail(pk: int) -> int:
    """The mail the customer sent in (kept whole for the conversation): its raw bytes, sender and subject blanked
    and its attachments' contents dropped; the row stays, so a refetch of the same mail is still recognised."""
    ids = TicketMessage.objects.filter(customer_id=pk, channel="email").exclude(external_id="")
    mails = InboundMail.objects.filter(message_id__in=ids.values("external_id"))
    InboundAttachment.objects.filter(mail__in=mails).exclude(content=None).update(content=None, filename="")
    return mails.exclude(raw=b"", sender="", subject="").update(raw=b"", sender="", subject="", size=0)


def _line(pk: int) -> int:
    """The customer's LINE identity: the link (its user id, name, last message) and the webhook events that came
    from it. If the person still follows the account, their next message arrives as an unlinked contact."""
    user_ids = list(LineUser.objects.filter(customer_id=pk).values_list("user_id", flat=True))
    if not user_ids:
        return 0
    events = LineWebhookEvent.objects.filter(payload__source__userId__in=user_ids).exclude(payload={})
    erased = events.update(payload={})
    LineLinkRequest.objects.filter(customer_id=pk).delete()
    return erased + LineUser.objects.filter(customer_id=pk).delete()[0]
