"""The feedback figures page."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from .. import figures as feedback_figures
from .. import rollups
from ..forms import FiguresForm


@login_required
@permission_required("feedback.view_figures", raise_exception=True)
@require_GET
def figures(request: HttpRequest) -> HttpResponse:
    form = FiguresForm(request.GET or None)
    days = form.period_days()
    start, end = feedback_figures.period(days)
    refreshed_at = rollups.refreshed_at()
    if refreshed_at is None:
        # Never built (a new installation, before the periodic job's first run): build it now, once.
        rollups.refresh()
        refreshed_at = rollups.refreshed_at()
    figures = rollups.figures_from_rollups(start=start, end=end)
    return render(
        request,
        "feedback/figures.html",
        {"form": form, "days": days, "figures": figures, "refreshed_at": refreshed_at},
    )
