"""The RFM score panel on the customer page (registered in CrmConfig.ready()).

The panel joins ``Customer.score`` into the page's customer query (``select_related``), so it costs the page no
query at all, scored or not.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from customers import panels
from customers.models import Customer

from .models import CustomerScore


def score_panel_context(request: HttpRequest, customer: Customer) -> dict[str, Any]:
    try:
        score = customer.score
    except CustomerScore.DoesNotExist:
        score = None
    return {"score": score}


def register() -> None:
    panels.register(
        panels.Panel(
            name="crm.score",
            template="insights/scoring/_panel_score.html",
            context=score_panel_context,
            permission="insights.view_customer_figures",
            order=30,
            slot="side",
            select_related=("score",),
        )
    )
