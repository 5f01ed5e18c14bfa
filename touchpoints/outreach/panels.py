"""Outreach's panel on the customer page (registered in OutreachConfig.ready()): one query."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.db.models import CharField, QuerySet, Value
from django.db.models.functions import Lower
from django.http import HttpRequest
from django.utils import timezone

from customers.models import Customer

from .models import BouncedAddress, FollowUp, OutboundMessage, StaffTask

OUTREACH_PANEL_ROWS = 5


def _outreach_parts(customer: Customer, user: Any) -> list[tuple[str, QuerySet]]:
    """One queryset per section the user may see, all with the same columns (for a UNION): kind, id, when,
    text, status, detail. Each takes one row more than it shows, to know whether there are more."""
    kind = lambda name: Value(name, output_field=CharField())  # noqa: E731
    take = OUTREACH_PANEL_ROWS + 1
    parts: list[tuple[str, QuerySet]] = []
    if user.has_perm("outreach.view_outboundmessage"):
        parts.append(
            (
                "message",
                OutboundMessage.objects.readable_by(user)
                .filter(customer=customer)
                .order_by("-created_at", "-id")
                .values_list(kind("message"), "id", "created_at", "subject", "status", "skip_reason")[:take],
            )
        )
    if user.has_perm("outreach.view_followup"):
        parts.append(
            (
                "followup",
                FollowUp.objects.filter(customer=customer, status=FollowUp.Status.SCHEDULED)
                .order_by("due_at", "id")
                .values_list(kind("followup"), "id", "due_at", "rule__name", "status", "outcome")[:take],
            )
        )
    if user.has_perm("outreach.view_stafftask"):
        parts.append(
            (
                "task",
                StaffTask.objects.filter(customer=customer, status=StaffTask.Status.OPEN)
                .order_by("due_at", "id")
                .values_list(kind("task"), "id", "due_at", "title", "status", "channel")[:take],
            )
        )
    if customer.email and user.has_perm("outreach.view_outboundmessage"):
        # The customer's address bounced for good: the outbox sends it nothing (in the same UNION).
        parts.append(
            (
                "bounce",
                BouncedAddress.objects.annotate(address_lower=Lower("address"))
                .filter(address_lower=customer.email.strip().lower())
                .values_list(kind("bounce"), "id", "bounced_at", "address", "status_code", "diagnostic")[:1],
            )
        )
    return parts


def outreach_panel_context(request: HttpRequest, customer: Customer) -> dict[str, Any] | None:
    """The customer's latest outbound messages (status, why skipped), scheduled follow-ups and open staff tasks:
    one query (a UNION of the three; one per section where the database cannot order and limit inside one)."""
    parts = _outreach_parts(customer, request.user)
    if not parts:
        return None
    querysets = [qs for _kind, qs in parts]
    if len(querysets) > 1 and connection.features.supports_slicing_ordering_in_compound:
        rows = list(querysets[0].union(*querysets[1:], all=True))
    else:
        rows = [row for qs in querysets for row in qs]
    sections: dict[str, list] = {kind: [] for kind, _qs in parts}
    for kind, pk, at, text, status, detail in rows:
        if kind == "message":
            item = OutboundMessage(pk=pk, created_at=at, subject=text, status=status, skip_reason=detail)
        elif kind == "followup":
            item = FollowUp(pk=pk, due_at=at, status=status, outcome=detail)
            item.rule_name = text
        elif kind == "bounce":
            item = BouncedAddress(pk=pk, bounced_at=at, address=text, status_code=status, diagnostic=detail)
        else:
            item = StaffTask(pk=pk, due_at=at, title=text, status=status, channel=detail)
        sections[kind].append(item)
    # Within a section the UNION keeps no order: sort as each query did.
    sections.get("message", []).sort(key=lambda m: (m.created_at, m.pk), reverse=True)
    for kind in ("followup", "task"):
        sections.get(kind, []).sort(key=lambda item: (item.due_at, item.pk))
    return {
        # The form itself is fetched once the page is shown (views.customer_task_create): its assignees are a query.
        "can_give_task": request.user.has_perm("outreach.change_stafftask"),
        "outreach": {
            kind: {"rows": items[:OUTREACH_PANEL_ROWS], "more": len(items) > OUTREACH_PANEL_ROWS}
            for kind, items in sections.items()
        },
        "now": timezone.now(),
    }
