"""The feedback figures page."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from .. import figures as feedback_figures
from ..forms import FiguresForm


@login_required
@permission_required("feedback.view_figures", raise_exception=True)
@require_GET
def figures(request: HttpRequest) -> HttpResponse:
    form = FiguresForm(request.GET or None)
    days = form.period_days()
    start, end = feedback_figures.period(days)
    return render(
        request,
        "feedback/figures.html",
        {"form": form, "days": days, "figures": feedback_figures.feedback_figures(start=start, end=end)},
    )
