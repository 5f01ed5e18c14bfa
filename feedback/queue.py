"""A queue page's rows, prepared in one pass: labels, links, dates and SLA countdowns are worked out once per
page in Python instead of through hundreds of template lookups, tags and translations per page (a queue page
renders in a few milliseconds whatever it shows). The template only prints these values, escaped."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import dateformat, formats, timezone
from django.utils.translation import gettext as _

from customers.models import Customer

from .models import NO_DEADLINE, Priority, Status, Ticket, format_reference

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
    state: str  # none, ok, soon (in the warning window), overdue
    text: str = ""
    target: str = ""  # first_response or resolution
    due: dt.datetime | None = None


class CountdownFormat:
    """The countdown of a ticket (or of a queue row with the same fields), its texts translated once."""

    def __init__(self) -> None:
        self.duration = DurationFormat()
        self.left = _("%(left)s left")
        self.overdue = _("overdue %(left)s")

    def __call__(self, ticket: Any, now: dt.datetime) -> Countdown:
        due = ticket.next_due_at
        if due >= NO_DEADLINE:
            return Countdown(state="none")
        target = "first_response" if ticket.first_responded_at is None else "resolution"
        left = due - now
        if left.total_seconds() <= 0:
            return Countdown(state="overdue", text=self.overdue % {"left": self.duration(left)}, target=target, due=due)
        state = "soon" if ticket.next_warn_at <= now else "ok"
        return Countdown(state=state, text=self.left % {"left": self.duration(left)}, target=target, due=due)


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
    created: str
    follow_up: bool
    tags: list[str] = field(default_factory=list)


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
    date_format = formats.get_format("SHORT_DATETIME_FORMAT")
    result = []
    for r in rows:
        created = r.created_at.astimezone(tz)
        # Names the way the models write them (order by language; full name or username).
        customer = Customer(family_name=r.customer__family_name, given_name=r.customer__given_name)
        assignee = ""
        if r.assignee_id:
            user = User(
                username=r.assignee__username, first_name=r.assignee__first_name, last_name=r.assignee__last_name
            )
            assignee = user.get_full_name() or user.get_username()
        result.append(
            QueueRow(
                pk=r.pk,
                reference=format_reference(r.pk),
                url=f"{ticket_prefix}{r.pk}/",
                subject=r.subject,
                kind=kinds.get(r.kind, r.kind),
                priority=priorities.get(r.priority, r.priority),
                priority_class=PRIORITY_CLASSES.get(r.priority, ""),
                status=statuses.get(r.status, r.status),
                status_class=STATUS_CLASSES.get(r.status, ""),
                customer_url=f"{customer_prefix}{r.customer_id}/",
                customer_name=customer.display_name,
                customer_email=r.customer__email,
                assignee=assignee,
                countdown=countdown(r, now),
                created_iso=created.isoformat(),
                due_iso=r.next_due_at.isoformat() if r.next_due_at < NO_DEADLINE else "",
                created=dateformat.format(created, date_format),
                follow_up=r.source_survey_id is not None,
                tags=tags.get(r.pk, []),
            )
        )
    return result
