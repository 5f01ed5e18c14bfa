"""A ticket's conversation, written in one pass: the ticket page shows thirty messages at a time, and rendering each
through template tags, filters, an include for its delivery badge and two date filters cost more than the rest of the
page together. ``messages_html`` writes the same markup with every value escaped; the labels, the date format and
the delivery texts are translated once per page. templates/feedback/includes/_conversation.html prints it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.utils import formats, timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from customers.names import staff_name
from touchpoints.outreach.models import OutboundMessage

from .queue import DateTimeFormat, escape_value

MESSAGE_HTML = """
<li class="card shadow-sm mb-2 message message-{kind}" data-kind="{kind}" id="message-{pk}">
  <div class="card-header small d-flex justify-content-between">
    <span>{label} · {author}</span>
    <span>{delivery}<time datetime="{created_iso}">{created}</time></span>
  </div>
  <div class="card-body"><div class="message-body">{body}</div></div>
</li>
"""
NOTE_LABEL = '<i class="bi bi-lock" aria-hidden="true"></i> {}'
REPLY_LABEL = '<i class="bi bi-reply" aria-hidden="true"></i> {}'
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


def messages_html(messages: Sequence[Any]) -> SafeString:
    """The ``<li>`` of each message of ``TicketMessageQuerySet.for_ticket()`` (author and outbox row joined)."""
    esc = escape_value
    note = NOTE_LABEL.format(esc(_("Internal note")))
    reply = REPLY_LABEL.format(esc(_("Reply to the customer")))
    system = esc(_("System"))
    delivery = DeliveryFormat()
    date_format = DateTimeFormat(formats.get_format("DATETIME_FORMAT"))
    tz = timezone.get_current_timezone()
    authors: dict[int, str] = {}
    parts = []
    for m in messages:
        author = system
        if m.author_id is not None and m.author is not None:
            author = authors.get(m.author_id)
            if author is None:
                author = authors[m.author_id] = esc(staff_name(m.author))
        created = m.created_at.astimezone(tz)
        parts.append(
            MESSAGE_HTML.format(
                kind=esc(m.kind),
                pk=m.pk,
                label=note if m.kind == "note" else reply,
                author=author,
                delivery=delivery(m.outbound) if m.outbound_id is not None and m.outbound is not None else "",
                created_iso=created.isoformat(),
                created=esc(date_format(created)),
                body=esc(m.body),
            )
        )
    # Every value is escaped above.
    return mark_safe("".join(parts))  # noqa: S308
