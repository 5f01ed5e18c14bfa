"""The audit panel on the customer page (managers): loaded by htmx once the page is shown, so the page itself
pays no query for it (the customer page's query budget, tests/customers/test_query_counts.py)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from customers import panels

from .context import history_enabled


def audit_panel_context(request: HttpRequest, customer: Any) -> dict[str, Any]:
    return {"history_enabled": history_enabled()}


panels.register(
    panels.Panel(
        name="audit.trail",
        template="audit/includes/_panel_audit.html",
        context=audit_panel_context,
        permission="audit.view_audit",
        order=200,
        slot="main",
    )
)
