"""Tickets opened and replies sent on the customer timeline: their rows (only the columns shown) and their HTML,
written once per page the way ``feedback/includes/_timeline_ticket.html`` writes one entry."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import QuerySet
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.text import Truncator
from django.utils.translation import gettext as _

from customers import timeline

from .models import Ticket, TicketMessage, format_reference
from .templatetags.feedback_tags import status_class

MESSAGE_FIELDS = (
    "kind",
    "body",
    "channel",
    "created_at",
    "author__username",
    "author__first_name",
    "author__last_name",
    "ticket__kind",
    "ticket__channel",
    "ticket__status",
    "ticket__subject",
    "ticket__subject_key",
    "ticket__subject_params",
    "ticket__assignee__username",
    "ticket__assignee__first_name",
    "ticket__assignee__last_name",
)

OPENED_HTML = """
<span class="timeline-icon"><i class="bi bi-life-preserver text-danger" aria-hidden="true"></i></span>
<div class="small text-body-secondary">
  <strong class="text-body">{title}</strong>
  · <a href="{url}">{reference}</a>
  · {kind} · {channel}
  · <span class="badge {status_class}">{status}</span>
  · {time}
  {assignee}
</div>
<div class="timeline-body">{subject}</div>
"""
REPLY_HTML = """
<span class="timeline-icon"><i class="bi bi-reply text-primary" aria-hidden="true"></i></span>
<div class="small text-body-secondary">
  <strong class="text-body">{title}</strong>
  · <a href="{url}#message-{pk}">{reference}</a>
  · {time}
  {author}
</div>
<div class="timeline-body">{body}</div>
"""
WHO_HTML = "· {}"


# The timeline's channel filter names the journey's channels: the tickets that came in on each.
TICKET_CHANNELS = {
    "email": ["email"],
    "phone": ["phone"],
    "line": ["line"],
    "store": ["store"],
    "web": ["web_form", "widget"],
    "other": ["other", "survey"],
}


def message_rows(customer: Any, filters: dict[str, str]) -> QuerySet | None:
    qs = TicketMessage.objects.for_timeline(customer).only(*MESSAGE_FIELDS)
    channel = filters.get("channel")
    if channel:
        if channel not in TICKET_CHANNELS:
            return None  # no ticket comes in by SMS, an ad or the post
        qs = qs.filter(ticket__channel__in=TICKET_CHANNELS[channel])
    return qs


def message_entries(messages: Sequence[TicketMessage]) -> list[SafeString]:
    kinds = timeline.choice_labels(Ticket, "kind")
    channels = timeline.choice_labels(Ticket, "channel")
    statuses = timeline.choice_labels(Ticket, "status")
    ticket_prefix = reverse("feedback:ticket_detail", args=[1]).removesuffix("1/")
    opened = _("Ticket opened")
    reply_sent = _("Reply sent")
    customer_wrote = _("Message from the customer")
    assigned_to = timeline.Message(_("assigned to %(who)s"))
    by = timeline.Message(_("by %(who)s"))

    def html(m: TicketMessage) -> SafeString:
        ticket = m.ticket
        url = f"{ticket_prefix}{ticket.pk}/"
        if m.kind == TicketMessage.Kind.OPENED:
            assignee = ticket.assignee
            return format_html(
                OPENED_HTML,
                title=opened,
                url=url,
                reference=format_reference(ticket.pk),
                kind=kinds.get(ticket.kind, ticket.kind),
                channel=channels.get(ticket.channel, ticket.channel),
                status_class=status_class(ticket.status),
                status=statuses.get(ticket.status, ticket.status),
                time=timeline.time_html(m.created_at),
                assignee=format_html(WHO_HTML, assigned_to(who=timeline.user_name(assignee)))
                if assignee is not None
                else "",
                subject=ticket.display_subject,
            )
        inbound = m.kind == TicketMessage.Kind.INBOUND
        return format_html(
            REPLY_HTML,
            title=customer_wrote if inbound else reply_sent,
            url=url,
            pk=m.pk,
            reference=format_reference(ticket.pk),
            time=timeline.time_html(m.created_at),
            author=format_html(WHO_HTML, channels.get(m.channel, m.channel))
            if inbound and m.channel
            else format_html(WHO_HTML, by(who=timeline.user_name(m.author)))
            if m.author is not None
            else "",
            body=Truncator(m.body).chars(500),
        )

    return [html(m) for m in messages]
