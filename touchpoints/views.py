from __future__ import annotations

from csp.decorators import csp_update
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.generic import CreateView, ListView, UpdateView

from customers.models import Customer
from customers.pagination import KeysetListView
from customers.service_errors import apply_service_errors

from . import services
from .forms import (
    ApiKeyForm,
    FunnelFilterForm,
    JourneyMoveForm,
    TouchpointFilterForm,
    TouchpointLogForm,
    TouchpointTypeForm,
)
from .funnel import funnel_report
from .models import ApiKey, CustomerJourney, Touchpoint, TouchpointType
from .querysets import TOUCHPOINT_ORDERING
from .timeline_entries import touchpoints_for_reader

User = get_user_model()


# --- Touchpoint list ------------------------------------------------------------------------------


class TouchpointListView(LoginRequiredMixin, PermissionRequiredMixin, KeysetListView):
    permission_required = "touchpoints.view_touchpoint"
    template_name = "touchpoints/touchpoint_list.html"
    results_template_name = "touchpoints/includes/_touchpoint_results.html"
    results_target = "touchpoint-results"
    keyset_ordering = TOUCHPOINT_ORDERING

    def get_queryset(self):
        self.filter_form = TouchpointFilterForm(self.request.GET or None)
        # A ticket's touchpoints carry its subject: support correspondence, left out for a reader without tickets.
        return touchpoints_for_reader(Touchpoint.objects.filter_by(**self.filter_form.filters()), self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        staff = User.objects.filter(is_active=True, is_staff=True).order_by("username")
        api_keys = []
        if self.request.user.has_perm("touchpoints.view_apikey"):
            api_keys = list(ApiKey.objects.order_by("name").only("pk", "name"))
            for key in api_keys:
                key.filter_value = f"key:{key.pk}"
        context.update(
            filter_form=self.filter_form,
            types=TouchpointType.objects.all(),
            staff=staff,
            api_keys=api_keys,
            is_filtered=self.filter_form.is_filtered(),
        )
        return context


# --- Quick log and manual stage move on the customer page -----------------------------------------


@login_required
@permission_required("touchpoints.add_touchpoint", raise_exception=True)
@require_POST
def touchpoint_log(request: HttpRequest, pk: int) -> HttpResponse:
    """Record a touchpoint from the customer page. With htmx: the form and journey panel refreshed, and an event that
    reloads the timeline."""
    customer = get_object_or_404(Customer, pk=pk)
    form = TouchpointLogForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.touchpoint_record(
                customer=customer,
                touchpoint_type=data["type"],
                channel=data["channel"],
                direction=data["direction"],
                summary=data["summary"],
                amount=data["amount"],
                occurred_at=data["occurred_at"],
                by=request.user,
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            if not request.headers.get("HX-Request"):
                messages.success(request, _("Touchpoint recorded."))
                return redirect(customer)
            # A fresh form and journey panel; the timeline reloads its first page with its own filters (the new
            # entry may be back-dated below others, or outside the stage or channel shown).
            journey = CustomerJourney.objects.filter(customer=customer).first()
            can_move = request.user.has_perm("touchpoints.move_stage")
            response = render(
                request,
                "touchpoints/includes/_touchpoint_logged.html",
                {
                    "customer": customer,
                    "touchpoint_form": TouchpointLogForm(),
                    "journey": journey,
                    "move_form": JourneyMoveForm(current=journey.stage if journey else "") if can_move else None,
                },
            )
            response["HX-Trigger"] = "timelineChanged"
            return response
    if request.headers.get("HX-Request"):
        response = render(
            request, "touchpoints/includes/_touchpoint_form.html", {"touchpoint_form": form, "customer": customer}
        )
        response["HX-Retarget"] = "#touchpoint-form-wrapper"
        response["HX-Reswap"] = "innerHTML"
        return response
    messages.error(request, _("The touchpoint was not recorded: %(errors)s") % {"errors": _form_error_text(form)})
    return redirect(customer)


def _form_error_text(form) -> str:
    return " ".join(
        f"{form.fields[k].label if k in form.fields else ''} {' '.join(v)}".strip() for k, v in form.errors.items()
    )


@login_required
@permission_required("touchpoints.move_stage", raise_exception=True)
@require_POST
def journey_move(request: HttpRequest, pk: int) -> HttpResponse:
    """Move a customer to another stage by hand, with a reason. With htmx: the journey panel (with the errors and what
    was typed when the move is refused) and an event that reloads the timeline."""
    customer = get_object_or_404(Customer, pk=pk)
    form = JourneyMoveForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            services.journey_stage_move(
                customer=customer,
                to_stage=form.cleaned_data["to_stage"],
                reason=form.cleaned_data["reason"],
                by=request.user,
            )
        except ValidationError as exc:
            error = " ".join(exc.messages)
    else:
        error = _("The stage was not changed: %(errors)s") % {"errors": _form_error_text(form)}
    if request.headers.get("HX-Request"):
        journey = CustomerJourney.objects.filter(customer=customer).first()
        current = journey.stage if journey else ""
        response = render(
            request,
            "touchpoints/includes/_panel_journey.html",
            {
                "customer": customer,
                "journey": journey,
                "move_form": form if error else JourneyMoveForm(current=current),
                "move_error": error if form.is_valid() else "",
            },
        )
        if not error:
            response["HX-Trigger"] = "timelineChanged"
        return response
    if error:
        messages.error(request, error)
    else:
        messages.success(request, _("Journey stage changed."))
    return redirect(customer)


# --- Funnel ---------------------------------------------------------------------------------------


@login_required
@permission_required("touchpoints.view_funnel", raise_exception=True)
def funnel(request: HttpRequest) -> HttpResponse:
    form = FunnelFilterForm(request.GET or None)
    start, end = form.period()
    report = funnel_report(start=start, end=end)
    return render(
        request,
        "touchpoints/funnel.html",
        {"form": form, "funnel": report, "chart_data": report.chart_data(), "start": start, "end": end},
    )


# --- Catalogue ------------------------------------------------------------------------------------


class TouchpointTypeListView(LoginRequiredMixin, PermissionRequiredMixin, ListView):
    permission_required = "touchpoints.view_touchpointtype"
    template_name = "touchpoints/touchpointtype_list.html"
    context_object_name = "types"

    def get_queryset(self):
        return TouchpointType.objects.all()


class TouchpointTypeFormMixin:
    model = TouchpointType
    form_class = TouchpointTypeForm
    template_name = "touchpoints/touchpointtype_form.html"
    success_url = reverse_lazy("touchpoints:types")

    def form_valid(self, form):
        data = {k: v for k, v in form.cleaned_data.items() if not (k == "slug" and self.object and self.object.pk)}
        try:
            services.touchpoint_type_save(data=data, touchpoint_type=self.object if self.object.pk else None)
        except ValidationError as exc:
            apply_service_errors(form, exc)
            return self.form_invalid(form)
        messages.success(self.request, _("Touchpoint type saved."))
        return redirect(self.success_url)


class TouchpointTypeCreateView(LoginRequiredMixin, PermissionRequiredMixin, TouchpointTypeFormMixin, CreateView):
    permission_required = "touchpoints.add_touchpointtype"

    def form_valid(self, form):
        self.object = TouchpointType()
        return super().form_valid(form)


class TouchpointTypeUpdateView(LoginRequiredMixin, PermissionRequiredMixin, TouchpointTypeFormMixin, UpdateView):
    permission_required = "touchpoints.change_touchpointtype"


# --- API keys -------------------------------------------------------------------------------------


@login_required
@permission_required("touchpoints.view_apikey", raise_exception=True)
def api_key_list(request: HttpRequest) -> HttpResponse:
    """The keys, and a form to create one; a new key is shown on this page once, right after its creation."""
    form = ApiKeyForm(request.POST or None)
    new_key = ""
    if request.method == "POST":
        if not request.user.has_perm("touchpoints.add_apikey"):
            return HttpResponse(status=403)
        if form.is_valid():
            try:
                _api_key, new_key = services.api_key_create(
                    name=form.cleaned_data["name"], scopes=form.cleaned_data["scopes"], by=request.user
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                form = ApiKeyForm()
    keys = ApiKey.objects.select_related("created_by")
    response = render(request, "touchpoints/apikey_list.html", {"keys": keys, "form": form, "new_key": new_key})
    response["Cache-Control"] = "no-store"
    return response


@login_required
@permission_required("touchpoints.change_apikey", raise_exception=True)
@require_POST
def api_key_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    api_key = get_object_or_404(ApiKey, pk=pk)
    services.api_key_revoke(api_key=api_key, by=request.user)
    messages.success(request, _("The key “%(name)s” was revoked.") % {"name": api_key.name})
    return redirect("touchpoints:api_keys")


@login_required
@csp_update({"style-src": ["'unsafe-inline'"]})  # Swagger UI styles its widgets inline; this page shows no user data
def api_docs(request: HttpRequest) -> HttpResponse:
    """Swagger UI from drf-spectacular-sidecar's static files, started by our own script (no CDN, no inline script)."""
    return render(request, "touchpoints/api_docs.html")
