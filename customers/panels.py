"""Panels on the customer page, contributed by the apps above ``customers`` (loyalty, feedback…).

An app registers a panel in its ``AppConfig.ready()``: a template and a function that builds its
context for one customer with a constant number of queries. The customer page renders them in order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.template.loader import render_to_string


@dataclass(frozen=True)
class Panel:
    name: str
    template: str
    context: Callable[[HttpRequest, Any], dict[str, Any] | None]
    permission: str = ""
    order: int = 100
    slot: str = "side"  # "side": the profile column; "main": above the timeline
    # One-to-one relations of Customer the panel reads, joined into the page's customer query.
    select_related: tuple[str, ...] = ()
    # Annotations the panel reads from the page's customer (a row of its own app, as a subquery): name -> expression,
    # built per request (they may depend on settings), so the panel costs no query of its own.
    annotate: Callable[[], dict[str, Any]] | None = None


_panels: dict[str, Panel] = {}


def register(panel: Panel) -> None:
    _panels[panel.name] = panel


def select_related() -> list[str]:
    return sorted({name for panel in _panels.values() for name in panel.select_related})


def annotations() -> dict[str, Any]:
    return {name: expr for panel in _panels.values() if panel.annotate for name, expr in panel.annotate().items()}


def render_panels(request: HttpRequest, customer: Any) -> dict[str, list[str]]:
    html: dict[str, list[str]] = {"side": [], "main": []}
    for panel in sorted(_panels.values(), key=lambda p: (p.order, p.name)):
        if panel.permission and not request.user.has_perm(panel.permission):
            continue
        context = panel.context(request, customer)
        if context is None:
            continue
        rendered = render_to_string(panel.template, {"customer": customer, **context}, request=request)
        html.setdefault(panel.slot, []).append(rendered)
    return html
