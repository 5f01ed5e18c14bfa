"""Acting on a list of customers: save them as a segment, send them a broadcast, give them tasks.

One home for the three actions of every list that offers them: the customers behind a dashboard figure
(crm/insights/drill_actions.py) and the customer list as filtered and searched, a segment's page included (the views
below). Each page hands over its list of the moment (a queryset) and where to come back; the actions call one
service each: ``customers.services.segment_from_customers`` (a tag of the same name and a segment on it), then the
broadcast's own checked flow (count, preview, confirmation), or ``rules.tasks_create_for_customers`` (idempotent: a
second click creates nothing).
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_POST

from customers.models import Segment
from customers.pagination import count_capped
from customers.search_tokens import resolved_query
from customers.services import segment_from_customers
from customers.views import customer_filtered_queryset

from .forms import ManualTaskForm
from .rules import BULK_TASKS_MAX, tasks_create_for_customers

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


def list_action_forms(request: HttpRequest, *, default_name: str) -> dict:
    """The forms shown above a list of customers, for the actions the user may take."""
    allowed = allowed_actions(request.user)
    return {
        "actions": allowed,
        "segment_form": SegmentNameForm(initial={"name": default_name[:50]}, auto_id="id_segment_%s")
        if allowed & {"segment", "broadcast"}
        else None,
        "tasks_form": ManualTaskForm(user=request.user, auto_id="id_bulk_%s") if "tasks" in allowed else None,
    }


def _errors(form: forms.Form) -> str:
    return " ".join(e for errors in form.errors.values() for e in errors)


def customers_act(
    request: HttpRequest, *, customers, back: str, description: str, segment: Segment | None = None
) -> HttpResponse:
    """Do the POSTed ``action`` on ``customers`` (checked against ACTION_PERMISSIONS), then back to ``back`` with a
    message, or on to the broadcast form. ``segment``: the list is that saved segment as it is, so a broadcast goes
    to it without saving a copy."""
    action = request.POST.get("action", "")
    if action not in ACTION_PERMISSIONS:
        messages.error(request, _("Choose what to do with these customers."))
        return redirect(back)
    if not request.user.has_perms(ACTION_PERMISSIONS[action]):
        raise PermissionDenied
    customers = customers.order_by()
    if action == "tasks":
        form = ManualTaskForm(request.POST, user=request.user, auto_id="id_bulk_%s")
        if not form.is_valid():
            messages.error(request, _errors(form))
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
    if action == "broadcast" and segment is not None:
        return redirect(reverse("outreach:broadcast_create") + f"?segment={segment.pk}")
    form = SegmentNameForm(request.POST)
    if not form.is_valid():
        messages.error(request, _errors(form))
        return redirect(back)
    try:
        saved = segment_from_customers(
            name=form.cleaned_data["name"],
            customer_ids=list(customers.values_list("pk", flat=True)),
            description=description,
            by=request.user,
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(back)
    if action == "broadcast":
        return redirect(reverse("outreach:broadcast_create") + f"?segment={saved.pk}")
    messages.success(request, _("Saved as the segment “%(name)s”.") % {"name": saved.name})
    return redirect(back)


# --- The customer list (and a segment's page, which is the list filtered by the segment) ----------------------


def _list_of(request: HttpRequest, query: QueryDict):
    """The customer list's rows for ``query`` (its filters, the search as a token), and its segment when the list is
    exactly one saved segment."""
    _form, customers = customer_filtered_queryset(request, data=query)
    filters = {k for k in query if k not in ("sort", "after", "before", "count") and query.get(k)}
    segment = None
    if filters == {"segment"} and query["segment"].isdigit():
        segment = Segment.objects.filter(pk=query["segment"]).first()
    return customers, segment


@login_required
@permission_required("customers.view_customer", raise_exception=True)
@require_GET
def customer_list_actions(request: HttpRequest) -> HttpResponse:
    """The actions block above the customer list, for its filters and search (loaded by htmx with the list)."""
    customers, segment = _list_of(request, request.GET)
    context = list_action_forms(request, default_name=segment.name if segment else "")
    if not context["actions"]:
        return HttpResponse("")
    count, capped = count_capped(customers)
    query = request.GET.copy()
    for name in ("after", "before", "count"):
        query.pop(name, None)
    return render(
        request,
        "outreach/includes/_list_actions.html",
        {
            **context,
            "count": count,
            "capped": capped,
            "tasks_max": BULK_TASKS_MAX,
            "act_url": reverse("outreach:customer_list_act"),
            # The list's parameters again, the search as its token (customers/search_tokens.py): never the text.
            "hidden_fields": [("query", request.META.get("QUERY_STRING", ""))],
            "segment": segment,
        },
    )


@login_required
@permission_required("customers.view_customer", raise_exception=True)
@require_POST
def customer_list_act(request: HttpRequest) -> HttpResponse:
    raw = QueryDict(request.POST.get("query", "")[:2000])
    customers, segment = _list_of(request, resolved_query(request, raw))
    back = reverse("customers:list") + (f"?{raw.urlencode()}" if raw else "")
    return customers_act(
        request,
        customers=customers,
        back=back,
        description=_("Customers of the list on %(date)s") % {"date": timezone.localdate().isoformat()},
        segment=segment,
    )
