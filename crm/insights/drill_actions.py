"""Acting on the customers behind a figure: save them as a segment, send them a broadcast, give them tasks.

The figure's customers are the list of the moment (the same query as the page and its CSV); each action takes
that list once and hands it to one service: ``customers.services.segment_from_customers`` (a tag of the same name
and a segment on it), then the broadcast's own checked flow, or ``outreach.rules.tasks_create_for_customers``
(idempotent: a second click creates nothing)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from customers.services import segment_from_customers
from touchpoints.outreach.forms import ManualTaskForm
from touchpoints.outreach.rules import BULK_TASKS_MAX, tasks_create_for_customers

from . import metrics
from .forms import PeriodForm
from .views import _drillable, _period_query

ACTION_PERMISSIONS = {
    "segment": ["customers.add_segment"],
    "broadcast": ["customers.add_segment", "outreach.add_broadcast"],
    # Tasks for a whole list, for anyone: those who may see and give every task (managers).
    "tasks": ["outreach.add_stafftask", "outreach.change_stafftask"],
}


class SegmentNameForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Segment name"), max_length=50)


def allowed_actions(user) -> set[str]:
    return {action for action, perms in ACTION_PERMISSIONS.items() if user.has_perms(perms)}


def drill_action_forms(request: HttpRequest, figure, period) -> dict:
    """The forms shown above a figure's customers, for the actions the user may take."""
    allowed = allowed_actions(request.user)
    default_name = f"{figure.label} {period.start:%Y-%m-%d}–{period.end:%m-%d}"[:50]
    return {
        "actions": allowed,
        "segment_form": SegmentNameForm(initial={"name": default_name}, auto_id="id_segment_%s")
        if allowed & {"segment", "broadcast"}
        else None,
        "tasks_form": ManualTaskForm(user=request.user, auto_id="id_bulk_%s") if "tasks" in allowed else None,
    }


@login_required
@require_POST
def figure_customers_act(request: HttpRequest, key: str) -> HttpResponse:
    figure = _drillable(request, key)
    action = request.POST.get("action", "")
    if action not in ACTION_PERMISSIONS:
        messages.error(request, _("Choose what to do with these customers."))
        return redirect(reverse("insights:figure_customers", args=[key]))
    if not request.user.has_perms(ACTION_PERMISSIONS[action]):
        raise PermissionDenied
    today = timezone.localdate()
    period = PeriodForm(request.POST, today=today).period()
    back = reverse("insights:figure_customers", args=[key]) + "?" + _period_query(period)
    customers = metrics.customers_behind(key, period, today=today).order_by()
    if action == "tasks":
        form = ManualTaskForm(request.POST, user=request.user, auto_id="id_bulk_%s")
        if not form.is_valid():
            messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
            return redirect(back)
        ids = list(customers.values_list("pk", flat=True)[: BULK_TASKS_MAX + 1])
        try:
            created = tasks_create_for_customers(
                customer_ids=ids,
                title=form.cleaned_data["title"],
                due_at=form.cleaned_data["due_at"],
                assignee=form.cleaned_data["assignee"],
                channel=form.cleaned_data["channel"],
                by=request.user,
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request,
                ngettext(
                    "%(n)d task created (customers who already had it open got none).",
                    "%(n)d tasks created (customers who already had it open got none).",
                    created,
                )
                % {"n": created},
            )
        return redirect(back)
    form = SegmentNameForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect(back)
    try:
        segment = segment_from_customers(
            name=form.cleaned_data["name"],
            customer_ids=list(customers.values_list("pk", flat=True)),
            description=f"{figure.label}: {period.start} – {period.end}",
            by=request.user,
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(back)
    if action == "broadcast":
        return redirect(reverse("outreach:broadcast_create") + f"?segment={segment.pk}")
    messages.success(request, _("Saved as the segment “%(name)s”.") % {"name": segment.name})
    return redirect(back)
