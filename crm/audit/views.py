"""The audit pages (managers, ``audit.view_audit``): a customer's history and access log, and the breach report."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from crm.insights.exports import csv_response
from customers.models import Customer

from .access import access_record
from .context import history_enabled
from .forms import BreachReportForm
from .history import customer_history
from .models import AccessRecord
from .querysets import access_for_customers

ACCESS_SHOWN = 100


@login_required
@permission_required("audit.view_audit", raise_exception=True)
def customer_audit(request: HttpRequest, pk: int) -> HttpResponse:
    """The History and Access log of one customer (htmx into the customer page's panel, or a page of its own)."""
    customer = get_object_or_404(Customer, pk=pk)
    context = {
        "customer": customer,
        "history_enabled": history_enabled(),
        "changes": customer_history(customer),
        "accesses": list(access_for_customers([customer.pk])[:ACCESS_SHOWN]),
    }
    template = (
        "audit/includes/_customer_audit.html" if request.headers.get("HX-Request") else "audit/customer_audit.html"
    )
    return render(request, template, context)


@login_required
@permission_required("audit.view_audit", raise_exception=True)
def breach_report(request: HttpRequest) -> HttpResponse:
    """Who accessed or exported these customers' data between these dates; POST only (no emails in URLs)."""
    form = BreachReportForm(request.POST or None)
    records = None
    if request.method == "POST" and form.is_valid():
        customers = form.cleaned_data["customers"]
        start, end = form.period()
        ids = [c.pk for c in customers]
        records = list(access_for_customers(ids, start=start, end=end))
        if "csv" in request.POST:
            access_record(
                request=request,
                how=AccessRecord.How.EXPORT,
                customer_ids=ids,
                what="audit:breach_report",
                filter={"start": str(form.cleaned_data["start"]), "end": str(form.cleaned_data["end"])},
            )
            return csv_response(_report_rows(records), stem=f"access-report-{timezone.localdate().isoformat()}")
        return render(request, "audit/breach_report.html", {"form": form, "records": records, "customers": customers})
    return render(request, "audit/breach_report.html", {"form": form, "records": records})


def _report_rows(records: list[AccessRecord]) -> list[list]:
    from django.utils.translation import gettext as _

    rows: list[list] = [[_("At"), _("Staff member"), _("API key"), _("How"), _("What"), _("Customers"), _("Rows")]]
    for r in records:
        at = timezone.localtime(r.at).isoformat(timespec="seconds")
        who = [r.username, r.api_key_id or ""]
        rows.append([at, *who, r.get_how_display(), r.what, " ".join(map(str, r.matched_ids)), r.row_count])
    return rows
