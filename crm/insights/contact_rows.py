"""The rows of "Who to contact this week", written in Python in one pass (as customers/rows.py writes the customer
list's).

A row used to be a template included once per customer, with another include for its segment badge, and its tags,
filters, translations, URL reversing and CSRF tags cost most of the page's time. ``contact_rows_html`` writes the
same ``<tr>`` for each score: labels translated and URLs reversed once per page and filled per row, the CSRF token
read once, an owner's name worked out once per owner, every value escaped. The list prints every row; an action
(log a call, start a follow-up, undo) answers its one row again, with what was done, through the same function.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from customers.models import Customer
from customers.money import format_money
from customers.names import staff_name
from customers.phones import format_phone
from customers.rows import DateTimeFormat, escape_value

from .models import SEGMENT_BADGE_CLASSES, CustomerScore
from .scoring import CallOutcome

# One row: the markup of the row template it replaces (the table's head is in contact_list.html). Every value is
# escaped before it is written in; the names in braces that end in _html are markup written here, or nothing.
ROW_HTML = """
<tr id="contact-row-{pk}" data-customer="{pk}">
  <td><a href="{url}">{name}</a>{phone_html}</td>
  <td>{segment_html}{dropped_html}</td>
  <td><code title="{rfm_title}">{rfm}</code></td>
  <td class="small text-nowrap">{last_purchase}<br><span class="text-body-secondary">{days_ago}</span></td>
  <td class="text-end">{frequency}</td>{spend_html}
  <td class="small">{owner_html}</td>
  <td class="contact-actions">
    <div class="d-flex flex-wrap gap-1">{call_html}{task_html}
    </div>{done_html}{error_html}
  </td>
</tr>"""
PHONE_HTML = '<br><a class="small text-nowrap" href="tel:{}" data-phone>{}</a>'
SEGMENT_HTML = '<span class="badge {}" data-segment="{}">{}</span>'
DROPPED_HTML = (
    ' <span class="small text-danger-emphasis text-nowrap" title="{}"><i class="bi bi-arrow-down" aria-hidden="true">'
    "</i> {}</span>"
)
SPEND_HTML = '\n  <td class="text-end text-nowrap">{}</td>'
NO_OWNER_HTML = '<span class="text-body-secondary">—</span>'
CALL_HTML = """
      <form method="post" action="{action}" hx-post="{action}" hx-target="closest tr" hx-swap="outerHTML" \
hx-disabled-elt="find button">
        {csrf}<input type="hidden" name="key" value="{key}">
        <div class="d-flex flex-wrap gap-1 mb-1">
          <label class="visually-hidden" for="outcome-{pk}">{outcome_label}</label>
          <select name="outcome" id="outcome-{pk}" class="form-select form-select-sm w-auto">{options}</select>
          <label class="visually-hidden" for="note-{pk}">{note_label}</label>
          <input type="text" name="note" id="note-{pk}" class="form-control form-control-sm w-auto" maxlength="900" \
placeholder="{note_label}">
        </div>
        <button type="submit" class="btn btn-sm btn-outline-primary text-nowrap" data-action="call">\
<i class="bi bi-telephone" aria-hidden="true"></i> {button}</button>
      </form>"""
OPEN_TASK_HTML = """
      <span class="badge text-bg-light border text-nowrap align-self-center" data-open-task="{}">\
<i class="bi bi-check2-square" aria-hidden="true"></i> {}</span>"""
FOLLOW_UP_HTML = """
      <form method="post" action="{action}" hx-post="{action}" hx-target="closest tr" hx-swap="outerHTML" \
hx-disabled-elt="find button">
        {csrf}
        <button type="submit" class="btn btn-sm btn-outline-secondary text-nowrap" data-action="follow-up">\
<i class="bi bi-calendar-plus" aria-hidden="true"></i> {button}</button>
      </form>"""
DONE_HTML = '\n    <div class="small text-success mt-1" role="status" data-done>{}{}</div>'
UNDO_HTML = """
      <form class="d-inline" method="post" action="{action}" hx-post="{action}" hx-target="closest tr" \
hx-swap="outerHTML" hx-disabled-elt="find button">
        {csrf}<button type="submit" class="btn btn-link btn-sm p-0 align-baseline text-nowrap" data-action="undo-call" \
title="{title}"><i class="bi bi-arrow-counterclockwise" aria-hidden="true"></i> {button}</button>
      </form>"""
ERROR_HTML = '\n    <div class="small text-danger mt-1" role="alert" data-error>{}</div>'
CSRF_HTML = '<input type="hidden" name="csrfmiddlewaretoken" value="{}">'
OPTION_HTML = '<option value="{}">{}</option>'


def abilities(user: Any) -> dict[str, bool]:
    """What the rows show, worked out once per page rather than once per row."""
    return {
        "can_see_spend": user.has_perm("insights.view_revenue"),
        "can_call": user.has_perm("touchpoints.add_touchpoint"),
        "can_follow_up": user.has_perm("outreach.add_stafftask"),
    }


SENTINEL = 987654321


def _url_format(name: str) -> str:
    """The URL of ``name`` reversed once, escaped, with ``{pk}`` where a row's customer id goes."""
    return escape_value(reverse(name, args=[SENTINEL])).replace(str(SENTINEL), "{pk}", 1)


def contact_rows_html(
    request: HttpRequest,
    rows: Iterable[CustomerScore],
    *,
    done: str = "",
    error: str = "",
    undo: Any = None,
) -> SafeString:
    """The ``<tr>`` of each score (from ``scoring.contact_rows``), in the current language, for ``request``'s user.

    Each row's "Log a call" form carries a fresh key, so a double submission of the same form logs one call. ``done``,
    ``error`` and ``undo`` (the touchpoint a call logged, while it may be undone) are for the one row an action
    answers.
    """
    esc = escape_value
    can = abilities(request.user)

    csrf = CSRF_HTML.format(esc(get_token(request)))
    detail_url = _url_format("customers:detail")
    call_url = _url_format("insights_scoring:contact_call")
    follow_url = _url_format("insights_scoring:contact_followup")
    date_format = DateTimeFormat(formats.get_format("SHORT_DATE_FORMAT"))
    tz = timezone.get_current_timezone()
    display_name = Customer.display_name.fget
    segments = {value: esc(label) for value, label in CustomerScore._meta.get_field("segment").flatchoices}
    badges: dict[str, str] = {}
    owners: dict[int, str] = {}
    # The call form's fixed parts, translated once and written into its format (their braces doubled).
    call_html = ""
    if can["can_call"]:
        options = "".join(OPTION_HTML.format(esc(value), esc(label)) for value, label in CallOutcome.choices)
        call_html = CALL_HTML.format(
            action="{action}",
            csrf=csrf,
            key="{key}",
            pk="{pk}",
            outcome_label=esc(_("How the call went")),
            options=options.replace("{", "{{").replace("}", "}}"),
            note_label=esc(_("Note")),
            button=esc(_("Log a call")),
        )
    follow_up_html = ""
    if can["can_follow_up"]:
        follow_up_html = FOLLOW_UP_HTML.format(action="{action}", csrf=csrf, button=esc(_("Start a follow-up")))
    rfm_title = esc(_("Recency, frequency and monetary scores, 1 to 5"))
    dropped_title = esc(_("Recency score at the previous scoring"))
    dropped_text = _("R was %(r)s")
    open_task_text = _("Follow-up open, due %(due)s")
    done_html = ""
    if done:
        undo_html = ""
        if undo is not None:
            action = esc(reverse("insights_scoring:contact_call_undo", args=[SENTINEL, undo.pk]))
            undo_html = UNDO_HTML.format(
                action=action.replace(str(SENTINEL), "{pk}", 1),
                csrf=csrf,
                title=esc(_("Possible for ten minutes")),
                button=esc(_("Undo")),
            )
        # The row's id goes into the undo form's URL; any other brace (in the message) is doubled.
        done_html = DONE_HTML.format(esc(done).replace("{", "{{").replace("}", "}}"), undo_html)
    error_html = ERROR_HTML.format(esc(error)) if error else ""

    def segment_badge(segment: str) -> str:
        badge = badges.get(segment)
        if badge is None:
            css = SEGMENT_BADGE_CLASSES.get(segment, "text-bg-secondary")
            badge = badges[segment] = SEGMENT_HTML.format(css, esc(segment), segments.get(segment, esc(segment)))
        return badge

    def owner_cell(customer: Customer) -> str:
        if customer.owner_id is None:
            return NO_OWNER_HTML
        name = owners.get(customer.owner_id)
        if name is None:
            name = owners[customer.owner_id] = esc(staff_name(customer.owner))
        return name

    def row(r: CustomerScore) -> str:
        customer, pk = r.customer, int(r.customer_id)
        phone = customer.phone
        dropped = r.previous_r_score and r.r_score < r.previous_r_score
        if r.open_task_id:
            due = date_format(r.open_task_due.astimezone(tz))
            task = OPEN_TASK_HTML.format(int(r.open_task_id), esc(open_task_text % {"due": due}))
        else:
            task = follow_up_html.format(action=follow_url.format(pk=pk)) if follow_up_html else ""
        days = r.recency_days
        return ROW_HTML.format(
            pk=pk,
            url=detail_url.format(pk=pk),
            name=esc(display_name(customer)),
            phone_html=PHONE_HTML.format(esc(phone), esc(format_phone(phone))) if phone else "",
            segment_html=segment_badge(r.segment),
            dropped_html=DROPPED_HTML.format(dropped_title, esc(dropped_text % {"r": r.previous_r_score}))
            if dropped
            else "",
            rfm_title=rfm_title,
            rfm=esc(f"{r.r_score}{r.f_score}{r.m_score}"),
            last_purchase=esc(date_format(r.last_purchase_at.astimezone(tz))) if r.last_purchase_at else "",
            days_ago=esc(ngettext("%(days)s day ago", "%(days)s days ago", days) % {"days": days}),
            # As ``intcomma`` writes it in English and Japanese (a comma every three digits).
            frequency=f"{int(r.frequency):,}",
            spend_html=SPEND_HTML.format(esc(format_money(r.monetary))) if can["can_see_spend"] else "",
            owner_html=owner_cell(customer),
            call_html=call_html.format(action=call_url.format(pk=pk), key=uuid.uuid4().hex, pk=pk) if call_html else "",
            task_html=task,
            done_html=done_html.format(pk=pk) if done_html else "",
            error_html=error_html,
        )

    # Every value above is escaped, or is markup written here with escaped values in it.
    return mark_safe("".join(row(r) for r in rows))  # noqa: S308
