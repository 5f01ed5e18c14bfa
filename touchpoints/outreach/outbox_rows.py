"""The outbox list's rows, written in Python in one pass (as customers/rows.py writes the customer list's).

A row used to be template markup with a status badge included per message, and its lookups, date filters,
translations and URL reversing cost most of the page's time. ``outbox_rows_html`` writes the same ``<tr>`` for each
message: labels translated, URLs reversed and date formats parsed once per page, every value escaped. The messages
come from ``OutboundMessageQuerySet.for_list()`` (customer, template and broadcast joined): writing costs no query.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.urls import reverse
from django.utils import formats, timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator
from django.utils.translation import gettext as _

from customers.models import Customer
from customers.rows import DateTimeFormat, escape_value

from .models import OutboundMessage

# A message's badge colour by status (the outbox list, its detail page and the customer page's panel).
STATUS_BADGE_CLASSES = {
    OutboundMessage.Status.SENT: "text-bg-success",
    OutboundMessage.Status.FAILED: "text-bg-danger",
    OutboundMessage.Status.SKIPPED: "text-bg-secondary",
    OutboundMessage.Status.SENDING: "text-bg-info",
}
ERROR_CHARS = 80  # a failed message's error, cut to this length on the list (the detail page has all of it)

# One message: the markup of the row template it replaces (templates/outreach/includes/_outbox_results.html holds the
# table's head). Every value is escaped before it is written in; the names in braces ending in _html are markup.
ROW_HTML = """
        <tr>
          <td class="text-nowrap small"><a href="{url}"><time datetime="{created_iso}">{created}</time></a></td>
          <td><a href="{customer_url}">{customer}</a></td>
          <td class="small text-truncate outbox-subject">{subject}</td>
          <td class="small">{purpose}</td>
          <td class="small">{origin}</td>
          <td>{status_html}{error_html}</td>
          <td class="text-end">{attempts}</td>
          <td class="text-nowrap small">{sent}</td>
        </tr>"""
BADGE_HTML = '<span class="badge {}">{}</span>'
REASON_HTML = ' <span class="small text-body-secondary">{}</span>'
ERROR_HTML = ' <span class="small text-danger outbox-error">{}</span>'


def status_badge_class(status: str) -> str:
    """The badge colour of a message's status: queued (and anything else) in amber."""
    return STATUS_BADGE_CLASSES.get(status, "text-bg-warning")


def _url_format(name: str) -> str:
    """The URL of ``name`` for one id, reversed once and escaped, with ``{pk}`` where a row's id goes."""
    sentinel = 987654321
    return escape_value(reverse(name, args=[sentinel])).replace(str(sentinel), "{pk}", 1)


def outbox_rows_html(messages: Iterable[OutboundMessage]) -> SafeString:
    """The ``<tr>`` of each message, in the current language and time zone."""
    esc = escape_value
    tz = timezone.get_current_timezone()
    when = DateTimeFormat(formats.get_format("SHORT_DATETIME_FORMAT"))
    detail_url = _url_format("outreach:outbox_detail")
    customer_url = _url_format("customers:detail")
    display_name = Customer.display_name.fget
    purposes = {value: esc(label) for value, label in OutboundMessage._meta.get_field("purpose").flatchoices}
    statuses = {value: esc(label) for value, label in OutboundMessage.Status.choices}
    reasons = {value: esc(label) for value, label in OutboundMessage.SkipReason.choices}
    broadcast_label, rule_label = esc(_("Broadcast")), esc(_("Follow-up rule"))
    not_before = esc(_("not before"))
    badges: dict[tuple[str, str], str] = {}

    def status_cell(m: Any) -> str:
        key = (m.status, m.skip_reason)
        cell = badges.get(key)
        if cell is None:
            cell = BADGE_HTML.format(status_badge_class(m.status), statuses.get(m.status, esc(m.status)))
            if m.skip_reason:
                cell += REASON_HTML.format(reasons.get(m.skip_reason, esc(m.skip_reason)))
            badges[key] = cell
        return cell

    def origin(m: Any) -> str:
        if m.broadcast_id:
            return f"{broadcast_label}: {esc(m.broadcast.name)}"
        if m.followup_id:
            return rule_label
        return esc(m.source_app)

    def sent(m: Any) -> str:
        if m.sent_at:
            return esc(when(m.sent_at.astimezone(tz)))
        if m.status == OutboundMessage.Status.QUEUED:
            return f"{not_before} {esc(when(m.next_attempt_at.astimezone(tz)))}"
        return ""

    def row(m: Any) -> str:
        created = m.created_at.astimezone(tz)
        failed = m.status == OutboundMessage.Status.FAILED and m.last_error
        return ROW_HTML.format(
            url=detail_url.format(pk=int(m.pk)),
            created_iso=esc(created.isoformat()),
            created=esc(when(created)),
            customer_url=customer_url.format(pk=int(m.customer_id)),
            customer=esc(display_name(m.customer)),
            subject=esc(m.subject),
            purpose=purposes.get(m.purpose, esc(m.purpose)),
            origin=origin(m),
            status_html=status_cell(m),
            error_html=ERROR_HTML.format(esc(Truncator(m.last_error).chars(ERROR_CHARS))) if failed else "",
            attempts=int(m.attempts),
            sent=sent(m),
        )

    # Every value above is escaped, or is markup written here with escaped values in it.
    return mark_safe("".join(row(m) for m in messages))  # noqa: S308
