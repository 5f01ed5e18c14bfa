"""The privacy requests' pages (managers): the list, recording a request from the customer page, a request's page
with its disclosure download or its erasure confirmation. Every page here is no-store (crm/privacy.py)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm.audit.access import access_record
from crm.audit.models import AccessRecord
from customers.models import Customer
from customers.service_errors import apply_service_errors

from . import services
from .forms import DataRequestForm, ErasureConfirmForm
from .models import DataRequest

PAGE_SIZE = 50


@login_required
@permission_required("dataprotection.view_datarequest", raise_exception=True)
def request_list(request: HttpRequest) -> HttpResponse:
    requests = DataRequest.objects.select_related("handled_by")
    kind = request.GET.get("kind", "")
    if kind in DataRequest.Kind.values:
        requests = requests.filter(kind=kind)
    else:
        kind = ""
    page = Paginator(requests, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page_obj": page,
        "requests": page.object_list,
        "kind": kind,
        "kinds": DataRequest.Kind.choices,
        "retention": services.retention_status(),
    }
    return render(request, "dataprotection/datarequest_list.html", context)


@login_required
@permission_required("dataprotection.add_datarequest", raise_exception=True)
def request_create(request: HttpRequest, pk: int, kind: str) -> HttpResponse:
    if kind not in (DataRequest.Kind.DISCLOSURE, DataRequest.Kind.ERASURE):
        raise Http404
    if kind == DataRequest.Kind.ERASURE and not request.user.has_perm("dataprotection.erase_customer"):
        return HttpResponse(status=403)
    customer = get_object_or_404(Customer, pk=pk)
    form = DataRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            data_request = services.data_request_record(
                customer=customer, kind=kind, by=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            return redirect(data_request)
    context = {"form": form, "customer": customer, "kind": kind, "kind_label": DataRequest.Kind(kind).label}
    return render(request, "dataprotection/datarequest_form.html", context)


def _detail(request: HttpRequest, data_request: DataRequest, confirm_form: ErasureConfirmForm | None = None):
    context = {
        "data_request": data_request,
        "confirm_form": confirm_form or ErasureConfirmForm(),
        "can_erase": request.user.has_perm("dataprotection.erase_customer"),
    }
    return render(request, "dataprotection/datarequest_detail.html", context)


@login_required
@permission_required("dataprotection.view_datarequest", raise_exception=True)
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    data_request = get_object_or_404(DataRequest.objects.select_related("customer", "handled_by"), pk=pk)
    return _detail(request, data_request)


@require_POST
@login_required
@permission_required("dataprotection.view_datarequest", raise_exception=True)
def request_download(request: HttpRequest, pk: int) -> HttpResponse:
    """The disclosure archive; the download is recorded in the access log as an export of this customer."""
    data_request = get_object_or_404(DataRequest.objects.select_related("customer"), pk=pk)
    try:
        archive = services.disclosure_build(data_request=data_request, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(data_request)
    access_record(
        request=request,
        how=AccessRecord.How.EXPORT,
        customer_ids=[data_request.customer_ref],
        what="dataprotection:disclosure",
        filter={"request": data_request.pk},
    )
    response = HttpResponse(archive, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="disclosure-{data_request.pk}.zip"'
    response["Cache-Control"] = "no-store, private"
    return response


@require_POST
@login_required
@permission_required("dataprotection.erase_customer", raise_exception=True)
def request_erase(request: HttpRequest, pk: int) -> HttpResponse:
    data_request = get_object_or_404(DataRequest.objects.select_related("customer", "handled_by"), pk=pk)
    form = ErasureConfirmForm(request.POST)
    if form.is_valid():
        try:
            services.customer_erase(
                data_request=data_request, confirmation=form.cleaned_data["confirmation"], by=request.user
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("The customer's personal data was erased."))
            return redirect(data_request)
    return _detail(request, data_request, form)
