"""The privacy buttons on the customer page (managers): links only, so the page pays no query for them."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from customers import panels


def privacy_panel_context(request: HttpRequest, customer: Any) -> dict[str, Any]:
    return {"can_erase": request.user.has_perm("dataprotection.erase_customer")}


panels.register(
    panels.Panel(
        name="dataprotection.requests",
        template="dataprotection/includes/_panel_privacy.html",
        context=privacy_panel_context,
        permission="dataprotection.add_datarequest",
        order=210,
        slot="side",
    )
)
