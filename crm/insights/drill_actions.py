"""Acting on the customers behind a figure: save them as a segment, send them a broadcast, give them tasks.

The figure's customers are the list of the moment (the same query as the page and its CSV); the actions are the
ones every customer list offers (touchpoints/outreach/list_actions.py), given this list and this page to come back
to."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from touchpoints.outreach.list_actions import ACTION_PERMISSIONS, customers_act, list_action_forms

from . import metrics
from .forms import PeriodForm
from .views import _drillable, _period_query


def drill_action_forms(request: HttpRequest, figure, period) -> dict:
    """The forms shown above a figure's customers, for the actions the user may take."""
    context = list_action_forms(request, default_name=f"{figure.label} {period.start:%Y-%m-%d}–{period.end:%m-%d}")
    context["act_url"] = reverse("insights:figure_customers_act", args=[figure.key])
    context["hidden_fields"] = [("start", period.start.isoformat()), ("end", period.end.isoformat())]
    return context


@login_required
@require_POST
def figure_customers_act(request: HttpRequest, key: str) -> HttpResponse:
    figure = _drillable(request, key)
    if request.POST.get("action", "") not in ACTION_PERMISSIONS:
        messages.error(request, _("Choose what to do with these customers."))
        return redirect(reverse("insights:figure_customers", args=[key]))
    today = timezone.localdate()
    period = PeriodForm(request.POST, today=today).period()
    return customers_act(
        request,
        customers=metrics.customers_behind(key, period, today=today),
        back=reverse("insights:figure_customers", args=[key]) + "?" + _period_query(period),
        description=f"{figure.label}: {period.start} – {period.end}",
    )
