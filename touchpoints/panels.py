"""The journey's panels on the customer page (registered in TouchpointsConfig.ready());
one query each at most."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from customers.models import Customer

from .forms import JourneyMoveForm, TouchpointLogForm
from .models import CustomerJourney


def log_panel_context(request: HttpRequest, customer: Customer) -> dict[str, Any]:
    """The quick "log a touchpoint" form (its type menu is the one query)."""
    return {"touchpoint_form": TouchpointLogForm()}


def journey_panel_context(request: HttpRequest, customer: Customer) -> dict[str, Any]:
    """The customer's current stage, and the manual move form for those allowed to use it."""
    # Joined into the page's customer query (Panel.select_related); a customer not yet in the journey has none.
    journey: CustomerJourney | None = getattr(customer, "journey", None)
    can_move = request.user.has_perm("touchpoints.move_stage")
    return {
        "journey": journey,
        "move_form": JourneyMoveForm(current=journey.stage if journey else "") if can_move else None,
    }
