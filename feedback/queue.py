"""A queue page's rows, prepared in one pass: labels, links, dates and SLA countdowns are worked out once per
page in Python rather than through template lookups, tags and translations per row. ``queue_rows_html`` then
writes the table rows with format_html, every value escaped, and the template prints them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from customers import system_text
from customers.models import Customer
from customers.names import staff_name
from customers.rows import DateTimeFormat, escape_value

from .models import NO_DEADLINE, Priority, Status, Ticket, format_reference
from .sla import BusinessCalendar, business_minutes_between, calendar_load

User = get_user_model()

STATUS_CLASSES = {
    "new": "text-bg-primary",
    "open": "text-bg-info",
    "waiting": "text-bg-secondary",
    "resolved": "text-bg-success",
    "closed": "text-bg-dark",
}
PRIORITY_CLASSES = {
    "low": "text-bg-light border",
    "normal": "text-bg-light border border-info",
    "high": "text-bg-warning",
    "urgent": "text-bg-danger",
}


class DurationFormat:
    """``3 d 4 h`` / ``2 h 15 min`` / ``40 min`` in the current language, its formats translated once."""

    def __init__(self) -> None:
        self.days = _("%(d)d d %(h)d h")
        self.hours = _("%(h)d h %(m)d min")
        self.minutes = _("%(m)d min")

    def __call__(self, value: dt.timedelta) -> str:
        minutes = int(abs(value).total_seconds() // 60)
        days, rest = divmod(minutes, 24 * 60)
        hours, minutes = divmod(rest, 60)
        if days:
            return self.days % {"d": days, "h": hours}
        if hours:
            return self.hours % {"h": hours, "m": minutes}
        return self.minutes % {"m": minutes}


@dataclass(frozen=True)
class Countdown:
    state: str  # none, ok, soon (in the warning window), overdue, paused (waiting on the customer)
    text: str = ""
    target: str = ""  # first_response or resolution
    due: dt.datetime | None = None


class CountdownFormat:
    """The countdown of a ticket (or of a queue row with the same fields), its texts translated once."""

    def __init__(self) -> None:
        self.duration = DurationFormat()
        self.left = _("%(left)s left")
        self.overdue = _("overdue %(left)s")
        self.business_left = _("%(left)s left (business hours)")
        self.paused = _("Paused")
        self._calendar: BusinessCalendar | None = None

    def calendar(self) -> BusinessCalendar:
        """The business calendar, read once per page and only when a ticket's policy counts business hours."""
        if self._calendar is None:
            self._calendar = calendar_load()
        return self._calendar

    def __call__(self, ticket: Any, now: dt.datetime) -> Countdown:
        # The clock stands still while the ticket waits on the customer: say so, not "—".
        if ticket.status == Status.WAITING:
            target = "first_response" if ticket.first_responded_at is None else "resolution"
            return Countdown(state="paused", text=self.paused, target=target)
        due = ticket.next_due_at
        if due >= NO_DEADLINE:
            return Countdown(state="none")
        target = "first_response" if ticket.first_responded_at is None else "resolution"
        left = due - now
        if left.total_seconds() <= 0:
            return Countdown(state="overdue", text=self.overdue % {"left": self.duration(left)}, target=target, due=due)
        state = "soon" if ticket.next_warn_at <= now else "ok"
        if _counts_business_hours(ticket):
            # Four working hours from Friday 17:00 are due Monday 12:00: "4 h left", not "67 h left".
            minutes = business_minutes_between(now, due, self.calendar())
            text = self.business_left % {"left": self.duration(dt.timedelta(minutes=minutes))}
            return Countdown(state=state, text=text, target=target, due=due)
        return Countdown(state=state, text=self.left % {"left": self.duration(left)}, target=target, due=due)


def _counts_business_hours(ticket: Any) -> bool:
    """A queue row carries ``sla_policy__business_hours``; a ticket reads its policy (cached on the instance)."""
    if hasattr(ticket, "sla_policy__business_hours"):
        return bool(ticket.sla_policy__business_hours)
    policy = getattr(ticket, "sla_policy", None)
    return bool(policy is not None and policy.business_hours)


@dataclass(frozen=True, slots=True)
class _Name:
    """The two name fields of a customer, enough for ``Customer.display_name``."""

    family_name: str
    given_name: str


@dataclass
class QueueRow:
    pk: int
    reference: str
    url: str
    subject: str
    kind: str
    priority: str
    priority_class: str
    status: str
    status_class: str
    customer_url: str
    customer_name: str
    customer_email: str
    assignee: str
    countdown: Countdown
    created_iso: str
    due_iso: str
    created: str  # the day, and below it the time: a narrow column
    created_time: str
    follow_up: bool
    tags: list[str] = field(default_factory=list)
    replied: bool = False  # the customer's message waits for an answer


def queue_rows(rows: Sequence[Any], *, now: dt.datetime) -> list[QueueRow]:
    """A page's rows from ``TicketQuerySet.for_queue()`` tuples, and their tags (one query)."""
    tags: dict[int, list[str]] = {}
    if rows:
        through = Ticket.tags.through.objects.filter(ticket_id__in=[r.pk for r in rows]).order_by("tickettag__name")
        for ticket_id, name in through.values_list("ticket_id", "tickettag__name"):
            tags.setdefault(ticket_id, []).append(name)
    kinds = {value: str(label) for value, label in Ticket.Kind.choices}
    priorities = {value: str(label) for value, label in Priority.choices}
    statuses = {value: str(label) for value, label in Status.choices}
    ticket_prefix = reverse("feedback:ticket_detail", args=[1]).removesuffix("1/")
    customer_prefix = reverse("customers:detail", args=[1]).removesuffix("1/")
    countdown = CountdownFormat()
    tz = timezone.get_current_timezone()
    date_format = DateTimeFormat(formats.get_format("SHORT_DATE_FORMAT"))
    time_format = DateTimeFormat(formats.get_format("TIME_FORMAT"))
    # Names the way the models write them (order by language; full name or username), through the models' own
    # methods but without a model instance per row: a customer's name from its two fields, a user's once per page.
    customer_name = Customer.display_name.fget
    assignees: dict[int, str] = {}
    result = []
    for r in rows:
        created = r.created_at.astimezone(tz)
        customer = _Name(family_name=r.customer__family_name, given_name=r.customer__given_name)
        assignee = ""
        if r.assignee_id:
            assignee = assignees.get(r.assignee_id)
            if assignee is None:
                user = User(
                    username=r.assignee__username, first_name=r.assignee__first_name, last_name=r.assignee__last_name
                )
                assignee = assignees[r.assignee_id] = staff_name(user)
        result.append(
            QueueRow(
                pk=r.pk,
                reference=format_reference(r.pk),
                url=f"{ticket_prefix}{r.pk}/",
                subject=system_text.render(r.subject_key, r.subject_params, r.subject),
                kind=kinds.get(r.kind, r.kind),
                priority=priorities.get(r.priority, r.priority),
                priority_class=PRIORITY_CLASSES.get(r.priority, ""),
                status=statuses.get(r.status, r.status),
                status_class=STATUS_CLASSES.get(r.status, ""),
                customer_url=f"{customer_prefix}{r.customer_id}/",
                customer_name=customer_name(customer),
                customer_email=r.customer__email,
                assignee=assignee,
                countdown=countdown(r, now),
                created_iso=created.isoformat(),
                due_iso=r.next_due_at.isoformat() if r.next_due_at < NO_DEADLINE else "",
                created=date_format(created),
                created_time=time_format(created),
                follow_up=r.source_survey_id is not None,
                tags=tags.get(r.pk, []),
                replied=r.customer_replied_at is not None,
            )
        )
    return result


# One table row of the queue (templates/feedback/includes/_queue_results.html prints them all at once), so no
# template tags or filters run per row. Every value goes through format_html, so whatever typed it is escaped;
# {select} is the bulk checkbox's cell or nothing.
ROW_HTML = """
          <tr data-ticket="{pk}">
            {select}
            <td class="ticket-subject">
              <a href="{url}" class="fw-semibold text-decoration-none">{reference}</a>{follow_up}{replied}
              <div class="text-truncate" title="{subject}">{subject}</div>
              <div class="small text-body-secondary">{kind}{tags}</div>
            </td>
            <td class="ticket-customer"><div class="text-truncate"><a href="{customer_url}" title="{customer_name}">\
{customer_name}</a></div><div class="small text-body-secondary text-truncate" title="{customer_email}">\
{customer_email}</div></td>
            <td>{priority}</td>
            <td>{status}</td>
            <td>{assignee}</td>
            <td>{sla}</td>
            <td class="small text-nowrap"><time datetime="{created_iso}">{created}<br>{created_time}</time></td>
          </tr>
        """
SELECT_HTML = (
    '<td><input type="checkbox" class="form-check-input" name="ids" value="{pk}" aria-label="{label} {reference}"></td>'
)
FOLLOW_UP_HTML = ' <span class="badge text-bg-warning">{}</span>'
REPLIED_HTML = ' <span class="badge text-bg-danger text-nowrap" data-replied="1">\
<i class="bi bi-chat-left-dots" aria-hidden="true"></i> {}</span>'
BADGE_HTML = '<span class="badge {}">{}</span>'
TAG_HTML = ' <span class="badge text-bg-light border">{}</span>'
SLA_HTML = '<span class="badge sla-badge sla-{}" data-due="{}"><i class="bi ICON" aria-hidden="true"></i> {}</span>'
SLA_ICONS = {"first_response": SLA_HTML.replace("ICON", "bi-reply")}
SLA_OTHER = SLA_HTML.replace("ICON", "bi-check2-circle")
NO_SLA_HTML = '<span class="text-body-secondary small">{}</span>'
PAUSED_HTML = (
    '<span class="badge sla-badge sla-paused text-bg-light border" title="{}">'
    '<i class="bi bi-pause-circle" aria-hidden="true"></i> {}</span>'
)


def queue_rows_html(rows: Sequence[QueueRow], *, can_bulk: bool) -> SafeString:
    """The ``<tr>`` of each row, escaped, in the current language (labels translated and badges built once)."""
    row_html = ROW_HTML
    if can_bulk:
        # The checkbox's label, translated and escaped once, written into the row's format (its braces doubled).
        label = conditional_escape(_("Select")).replace("{", "{{").replace("}", "}}")
        row_html = ROW_HTML.replace("{select}", SELECT_HTML.replace("{label}", label))
    follow_up = format_html(FOLLOW_UP_HTML, _("Follow-up"))
    replied = format_html(REPLIED_HTML, _("New reply"))
    badges: dict[tuple[str, str], SafeString] = {}

    def badge(css: str, label: str) -> SafeString:
        markup = badges.get((css, label))
        if markup is None:
            markup = badges[css, label] = format_html(BADGE_HTML, css, label)
        return markup

    no_sla = format_html(NO_SLA_HTML, "—")
    paused = PAUSED_HTML.replace(
        "{}", escape_value(_("The SLA clock stands still while the ticket waits on the customer.")), 1
    )
    esc = escape_value

    def row(r: QueueRow) -> str:
        c = r.countdown
        return row_html.format(
            pk=r.pk,
            select="",
            url=esc(r.url),
            reference=esc(r.reference),
            follow_up=follow_up if r.follow_up else "",
            replied=replied if r.replied else "",
            subject=esc(r.subject),
            kind=esc(r.kind),
            tags="".join(TAG_HTML.format(esc(tag)) for tag in r.tags),
            customer_url=esc(r.customer_url),
            customer_name=esc(r.customer_name),
            customer_email=esc(r.customer_email),
            priority=badge(r.priority_class, r.priority),
            status=badge(r.status_class, r.status),
            assignee=esc(r.assignee or "—"),
            sla=paused.format(esc(c.text))
            if c.state == "paused"
            else SLA_ICONS.get(c.target, SLA_OTHER).format(esc(c.state), esc(r.due_iso), esc(c.text))
            if c.text
            else no_sla,
            created_iso=esc(r.created_iso),
            created=esc(r.created),
            created_time=esc(r.created_time),
        )

    # Every value above is escaped (or built by format_html), as format_html_join would, without its per-value cost.
    return mark_safe("".join(row(r) for r in rows))  # noqa: S308


# The queue's filter boxes (status, priority, kind, sort), written once per page rather than by a template loop
# in which each option asks the bound field for its value again.
SELECT_FIELD_HTML = """
    <div class="col-6 col-lg-2">
      <label for="{id}" class="form-label small">{label}</label>
      <select name="{name}" id="{id}" class="form-select">
        {options}
      </select>
    </div>
    """
OPTION_HTML = '<option value="{}"{}>{}</option>'


def filter_selects_html(form: Any, *, sort: str) -> SafeString:
    """The select boxes of ``QueueFilterForm.select_fields()``, the chosen option of each selected (for the sort, the
    sort in force as well), labels in the current language."""
    selects = []
    for bound in form.select_fields():
        chosen = bound.value() or ""
        options = "".join(
            OPTION_HTML.format(
                escape_value(value),
                " selected" if chosen == value or (bound.name == "sort" and sort == value) else "",
                escape_value(label),
            )
            for value, label in bound.field.choices
        )
        selects.append(
            SELECT_FIELD_HTML.format(
                id=escape_value(bound.id_for_label),
                label=escape_value(bound.label),
                name=escape_value(bound.name),
                options=options,
            )
        )
    # Every value is escaped above.
    return mark_safe("".join(selects))  # noqa: S308
