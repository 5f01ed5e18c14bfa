"""A ticket's conversation, written in one pass: the ticket page shows thirty messages at a time, and rendering each
through template tags, filters, an include for its delivery badge and two date filters cost more than the rest of the
page together. ``messages_html`` writes the same markup with every value escaped; the labels, the date format and
the delivery texts are translated once per page. templates/feedback/includes/_conversation.html prints it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.urls import reverse
from django.utils import formats, timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from customers.names import staff_name
from touchpoints.outreach.channels.mailbox.quoting import split_quoted
from touchpoints.outreach.models import InboundAttachment, OutboundMessage

from .queue import DateTimeFormat, escape_value

MESSAGE_HTML = """
<li class="card shadow-sm mb-2 message message-{kind}" data-kind="{kind}" id="message-{pk}">
  <div class="card-header small d-flex justify-content-between">
    <span>{label} · {author}</span>
    <span>{delivery}<time datetime="{created_iso}">{created}</time></span>
  </div>
  <div class="card-body"><div class="message-body">{body}</div>{quoted}{attachments}</div>
</li>
"""
# Quoted history of a customer's mail: kept whole, folded away (a <details> needs no script).
QUOTED_HTML = """<details class="message-quoted mt-2"><summary class="small text-muted">{}</summary>\
<div class="message-body small text-muted border-start ps-2">{}</div></details>"""
ATTACHMENTS_HTML = '<ul class="list-unstyled small mt-2 mb-0 message-attachments">{}</ul>'
ATTACHMENT_HTML = '<li><i class="bi bi-paperclip" aria-hidden="true"></i> <a href="{url}" download>{name}</a> \
<span class="text-muted">({size})</span></li>'
REFUSED_HTML = '<li class="text-warning-emphasis" data-refused="1"><i class="bi bi-paperclip" aria-hidden="true"></i> \
{name} <span class="text-muted">({size})</span> — {reason}</li>'

NOTE_LABEL = '<i class="bi bi-lock" aria-hidden="true"></i> {}'
REPLY_LABEL = '<i class="bi bi-reply" aria-hidden="true"></i> {}'
INBOUND_LABEL = '<i class="bi bi-chat-left-text" aria-hidden="true"></i> {}'
# The badges of templates/feedback/includes/_delivery.html (the survey card still includes it), then a space.
SENT_HTML = '<span class="badge text-bg-light border" data-delivery="sent"><i class="bi bi-envelope-check" \
aria-hidden="true"></i> {}</span>\n '
SKIPPED_HTML = '<span class="badge text-bg-warning" data-delivery="skipped" title="{}"><i class="bi bi-envelope-slash" \
aria-hidden="true"></i> {}</span>\n '
FAILED_HTML = '<span class="badge text-bg-danger" data-delivery="failed">{}</span>\n '
QUEUED_HTML = '<span class="badge text-bg-light border" data-delivery="queued"><i class="bi bi-hourglass" \
aria-hidden="true"></i> {}</span>\n '


class DeliveryFormat:
    """The delivery badge of a message's outbox row, its texts translated once."""

    def __init__(self) -> None:
        esc = escape_value
        self.sent = SENT_HTML.format(esc(_("mailed")))
        self.failed = FAILED_HTML.format(esc(_("mail failed")))
        self.queued = QUEUED_HTML.format(esc(_("mail queued")))
        self.not_mailed = _("not mailed: %(reason)s")
        self.reasons: dict[str, str] = {}

    def reason(self, value: str) -> str:
        label = self.reasons.get(value)
        if label is None:
            choices = dict(OutboundMessage._meta.get_field("skip_reason").flatchoices)
            label = self.reasons[value] = str(choices.get(value, value))
        return label

    def __call__(self, outbound: Any) -> str:
        if outbound.status == "sent":
            return self.sent
        if outbound.status == "skipped":
            reason = self.reason(outbound.skip_reason)
            return SKIPPED_HTML.format(
                escape_value(reason), escape_value(self.not_mailed % {"reason": escape_value(reason)})
            )
        if outbound.status == "failed":
            return self.failed
        return self.queued


def _size(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB" if size >= 1024 * 1024 else f"{max(1, round(size / 1024))} KB"


def _attachments_by_mail(messages: Sequence[Any]) -> dict[str, list[InboundAttachment]]:
    """The attachments of the page's customer mails, in one query (by the mails' Message-IDs)."""
    ids = [m.external_id for m in messages if m.kind == "inbound" and m.channel == "email" and m.external_id]
    found: dict[str, list[InboundAttachment]] = {}
    if not ids:
        return found
    rows = (
        InboundAttachment.objects.filter(mail__message_id__in=ids)
        .only("id", "filename", "size", "refused_reason", "mail__message_id")
        .select_related("mail")
        .order_by("id")
    )
    for row in rows:
        found.setdefault(row.mail.message_id, []).append(row)
    return found


def _attachments_html(ticket_id: int, rows: Sequence[InboundAttachment]) -> str:
    esc = escape_value
    items = []
    for row in rows:
        if row.refused_reason:
            reason = _("not kept: over the size limit") if row.refused_reason == "size" else _("not kept: file type")
            items.append(REFUSED_HTML.format(name=esc(row.filename), size=esc(_size(row.size)), reason=esc(reason)))
        else:
            url = reverse("feedback:ticket_attachment", args=[ticket_id, row.pk])
            items.append(ATTACHMENT_HTML.format(url=esc(url), name=esc(row.filename), size=esc(_size(row.size))))
    return ATTACHMENTS_HTML.format("".join(items))


def opening_attachments_html(ticket: Any) -> SafeString:
    """The files of the mail that opened ``ticket`` (its opening is not in the conversation list); "" for none."""
    # Only a ticket a mail opened (ticket_receive's key) can have one: no query for the others.
    if not (ticket.idempotency_key or "").startswith("inbound:email:"):
        return mark_safe("")  # noqa: S308 (empty)
    from .models import TicketMessage

    opening = TicketMessage.objects.filter(ticket=ticket, kind="opened", channel="email").values("external_id")
    rows = list(
        InboundAttachment.objects.filter(mail__message_id__in=opening)
        .only("id", "filename", "size", "refused_reason")
        .order_by("id")
    )
    # Every value is escaped by _attachments_html.
    return mark_safe(_attachments_html(ticket.pk, rows) if rows else "")  # noqa: S308


def messages_html(messages: Sequence[Any]) -> SafeString:
    """The ``<li>`` of each message of ``TicketMessageQuerySet.for_ticket()`` (author and outbox row joined)."""
    esc = escape_value
    note = NOTE_LABEL.format(esc(_("Internal note")))
    reply = REPLY_LABEL.format(esc(_("Reply to the customer")))
    inbound = INBOUND_LABEL.format(esc(_("Message from the customer")))
    labels = {"note": note, "inbound": inbound}
    system = esc(_("System"))
    delivery = DeliveryFormat()
    date_format = DateTimeFormat(formats.get_format("DATETIME_FORMAT"))
    tz = timezone.get_current_timezone()
    authors: dict[int, str] = {}
    attachments = _attachments_by_mail(messages)
    quoted_label = esc(_("Quoted history"))
    parts = []
    for m in messages:
        author = system
        if m.kind == "inbound":
            author = esc(m.sender or _("Customer"))
        elif m.author_id is not None and m.author is not None:
            author = authors.get(m.author_id)
            if author is None:
                author = authors[m.author_id] = esc(staff_name(m.author))
        created = m.created_at.astimezone(tz)
        body, quoted, files = m.body, "", ""
        if m.kind == "inbound":
            body, history = split_quoted(m.body)
            if history:
                quoted = QUOTED_HTML.format(quoted_label, esc(history))
            if m.external_id in attachments:
                files = _attachments_html(m.ticket_id, attachments[m.external_id])
        parts.append(
            MESSAGE_HTML.format(
                kind=esc(m.kind),
                pk=m.pk,
                label=labels.get(m.kind, reply),
                author=author,
                delivery=delivery(m.outbound) if m.outbound_id is not None and m.outbound is not None else "",
                created_iso=created.isoformat(),
                created=esc(date_format(created)),
                body=esc(body),
                quoted=quoted,
                attachments=files,
            )
        )
    # Every value is escaped above.
    return mark_safe("".join(parts))  # noqa: S308
