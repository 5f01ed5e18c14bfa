"""The tickets panel on the customer page (registered in FeedbackConfig.ready()); one query."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from customers.models import Customer

from .models import Ticket
from .services import survey_link, survey_open_for

PANEL_TICKETS = 5


def tickets_panel_context(request: HttpRequest, customer: Customer) -> dict[str, Any]:
    """The customer's latest tickets, newest first, and what this user may start from here."""
    rows = list(
        Ticket.objects.for_customer(customer)
        .only(
            "id",
            "subject",
            "subject_key",
            "subject_params",
            "status",
            "priority",
            "kind",
            "created_at",
            "next_due_at",
            "next_warn_at",
            "first_responded_at",
            "first_response_breached",
            "resolution_breached",
            "customer_id",
        )
        .order_by("-created_at", "-id")[: PANEL_TICKETS + 1]
    )
    return {
        "tickets": rows[:PANEL_TICKETS],
        "more_tickets": len(rows) > PANEL_TICKETS,
        "can_add_ticket": request.user.has_perm("feedback.add_ticket"),
        "can_send_survey": request.user.has_perm("feedback.send_survey"),
    }


def nps_survey_url(customer: Customer) -> str:
    """The ``{nps_survey_url}`` placeholder of message templates (broadcasts, follow-up rules): the signed link
    of the customer's open NPS survey, created on first use and reused while its link is valid."""
    return survey_link(survey_open_for(customer=customer, kind="nps"))
