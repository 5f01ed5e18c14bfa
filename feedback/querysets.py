"""Reads of the feedback app: queues, a customer's tickets, the conversation, survey answers."""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Any

from django.db import models
from django.db.models import Prefetch, Q
from django.utils.translation import gettext_lazy as _

from customers.models import Customer
from customers.pagination import Ordering

from .references import parse_reference
from .statuses import ACTIVE_STATUSES, CLOCK_STATUSES

# The queues staff pick from; each is a whitelisted filter (nothing from the query string reaches filter()).
QUEUES: dict[str, Any] = {
    "open": _("All open"),
    "mine": _("My tickets"),
    "unassigned": _("Unassigned"),
    "replied": _("New reply"),
    "breaching": _("Breaching soon"),
    "all": _("Everything"),
}
DEFAULT_QUEUE = "open"

# The only sorts the queue accepts: most urgent deadline first (SLA countdown), newest or oldest first.
TICKET_ORDERINGS: dict[str, Ordering] = {
    "due": Ordering("next_due_at", descending=False, label=_("Deadline")),
    "-created": Ordering("created_at", descending=True, label=_("Newest")),
    "created": Ordering("created_at", descending=False, label=_("Oldest")),
}
DEFAULT_TICKET_ORDERING = "due"

# The values a queue row shows, read as tuples (no model instances: a page is 50 rows of a few columns, and
# a customer row holds long derived search text). ``pk`` and the sort fields let keyset_page read its cursor.
QUEUE_VALUES = [
    "pk",
    "subject",
    "subject_key",
    "subject_params",
    "kind",
    "priority",
    "status",
    "created_at",
    "next_due_at",
    "next_warn_at",
    "first_responded_at",
    "sla_policy__business_hours",
    "source_survey_id",
    "customer_replied_at",
    "customer_id",
    "customer__family_name",
    "customer__given_name",
    "customer__email",
    "assignee_id",
    "assignee__username",
    "assignee__first_name",
    "assignee__last_name",
]


class TicketQuerySet(models.QuerySet):
    def active(self) -> TicketQuerySet:
        return self.filter(status__in=ACTIVE_STATUSES)

    def for_customer(self, customer: Customer | int) -> TicketQuerySet:
        return self.filter(customer=customer)

    def queue(self, name: str, *, user: Any, now: dt.datetime) -> TicketQuerySet:
        """One of ``QUEUES``; an unknown name is the default queue."""
        if name == "all":
            return self
        if name == "mine":
            return self.active().filter(assignee_id=user.pk)
        if name == "replied":
            # The customer wrote and no public reply answered yet (ticket_replied_due_idx).
            return self.active().filter(customer_replied_at__isnull=False)
        if name == "unassigned":
            return self.active().filter(assignee__isnull=True)
        if name == "breaching":
            # In the warning window or past the deadline, with the clock running.
            return self.filter(status__in=CLOCK_STATUSES, next_warn_at__lte=now)
        return self.active()

    def filter_by(self, *, status: str = "", priority: str = "", kind: str = "") -> TicketQuerySet:
        """The queue's whitelisted filters; values were validated by ``QueueFilterForm``."""
        qs = self
        if status:
            qs = qs.filter(status=status)
        if priority:
            qs = qs.filter(priority=priority)
        if kind:
            qs = qs.filter(kind=kind)
        return qs

    def by_reference(self, q: str) -> TicketQuerySet | None:
        """A reference typed as staff read it (``T-000123``, ``t123``, full width too): that ticket alone when it
        exists, else None (search on). Its subject search found first a follow-up ticket quoting the reference."""
        text = unicodedata.normalize("NFKC", q or "").strip()
        if text[:1] not in ("T", "t"):
            return None
        pk = parse_reference(text)
        if pk is None or not self.filter(pk=pk).exists():
            return None
        return self.filter(pk=pk)

    def search(self, q: str) -> TicketQuerySet:
        """A customer's email (exact, ignoring case); else words of the subject (a trigram index on PostgreSQL, from
        three characters) or the customer's name, kana, phone or company (the customers' own search, uncapped; two
        characters match the start of a name or kana)."""
        q = " ".join((q or "").replace("\x00", " ").split())
        if not q:
            return self
        exact = self.by_reference(q)
        if exact is not None:
            return exact
        if "@" in q:
            return self.filter(customer__in=Customer.objects.with_email(q).values("pk"))
        # The customers' own search as an uncapped semi-join (as the members list does): ``search_ids``' cap of ids
        # read in table order hid the tickets of a common name's customers beyond it.
        customers = Customer.objects.search(q).order_by().values("pk")
        if len(q) < 3:
            # Trigrams need three characters: a subject search of two would read every ticket.
            # Two characters (山本) find customers by the start of their name or kana, through their indexes.
            return self.filter(customer__in=customers)
        return self.filter(Q(subject__icontains=q) | Q(customer__in=customers))

    def for_queue(self) -> TicketQuerySet:
        """Rows as named tuples of ``QUEUE_VALUES`` (feedback/queue.py makes them a page's rows)."""
        return self.values_list(*QUEUE_VALUES, named=True)

    def for_detail(self) -> TicketQuerySet:
        from .models import TicketTag  # models imports this module (its managers)

        # What the ticket page shows, and nothing more: each join costs the planner time on every page view.
        return self.select_related(
            "customer", "customer__owner", "assignee", "sla_policy", "touchpoint__type", "source_survey"
        ).prefetch_related(Prefetch("tags", queryset=TicketTag.objects.only("id", "name")))

    def for_api(self) -> TicketQuerySet:
        return self.only(
            "id",
            "customer_id",
            "kind",
            "channel",
            "subject",
            "priority",
            "status",
            "order_reference",
            "created_at",
            "first_responded_at",
            "resolved_at",
            "closed_at",
        )


class TicketMessageQuerySet(models.QuerySet):
    def for_ticket(self, ticket: Any) -> TicketMessageQuerySet:
        """The conversation, with each reply's outbox row (its delivery: queued, sent, skipped and why): the columns
        feedback/conversation.py writes, and no others."""
        return (
            self.filter(ticket=ticket)
            .exclude(kind="opened")
            .select_related("author", "outbound")
            .only(
                "id",
                "ticket_id",
                "kind",
                "body",
                "created_at",
                "sender",
                "channel",
                "external_id",
                "author__username",
                "author__first_name",
                "author__last_name",
                "outbound__status",
                "outbound__skip_reason",
            )
        )

    def public(self) -> TicketMessageQuerySet:
        return self.filter(kind="reply")

    def for_timeline(self, customer: Customer | int) -> TicketMessageQuerySet:
        """The customer's tickets (their openings), the replies they got and what they wrote back, on
        ticket_message_customer_idx."""
        return (
            self.filter(customer=customer, kind__in=["reply", "opened", "inbound"])
            .select_related("author", "ticket__assignee")
            .defer("ticket__body")
        )


class SurveyQuerySet(models.QuerySet):
    def answered(self) -> SurveyQuerySet:
        return self.filter(answered_at__isnull=False)

    def answered_between(self, start: dt.datetime, end: dt.datetime) -> SurveyQuerySet:
        return self.filter(answered_at__gte=start, answered_at__lt=end)

    def for_list(self) -> SurveyQuerySet:
        return self.select_related("customer", "ticket", "follow_up_ticket").only(
            "id",
            "kind",
            "score",
            "comment",
            "answered_at",
            "created_at",
            "source",
            "customer_id",
            "customer__family_name",
            "customer__given_name",
            "ticket_id",
            "ticket__subject",
            "follow_up_ticket__id",
            "follow_up_ticket__status",
            "follow_up_ticket__loop_closed_at",
        )
