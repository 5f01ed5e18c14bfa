""" "Who to contact this week": valuable customers whose recency is slipping (crm/insights/scoring.py), with
one-click actions.

Managers and marketing see the list (``insights.view_customer_figures``; support does not: they work the ticket queues
and their own task list). Spend is shown to those who may see revenue (``insights.view_revenue``), the CSV to those who
may export reports. "Log a call" needs ``touchpoints.add_touchpoint``; "Start a follow-up" creates a staff task,
so it needs ``outreach.add_stafftask`` (managers: marketing has no task list to see it in).
"""

from __future__ import annotations

import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from customers.exporting import BOM, _cell
from customers.localtime import local_date
from customers.models import Customer
from customers.pagination import KeysetListView, Ordering
from customers.reads import customers_exported_announce
from touchpoints.models import Touchpoint

from . import scoring
from .contact_rows import contact_rows_html
from .models import CustomerScore, Segment

CONTACT_ORDERING = Ordering("spend_key", descending=True, row_compare=False)  # monetary, as text for the cursor
KEY_RE = re.compile(r"^[0-9a-f]{32}$")
CSV_CHUNK_SIZE = 2000


def _filters(request: HttpRequest) -> tuple[str, bool]:
    segment = request.GET.get("segment", "")
    return (segment if segment in Segment.values else ""), request.GET.get("owner") == "mine"


def _queryset(request: HttpRequest):
    segment, mine = _filters(request)
    return scoring.contact_queryset(segment=segment, owner=request.user if mine else None)


class ContactListView(LoginRequiredMixin, PermissionRequiredMixin, KeysetListView):
    permission_required = "insights.view_customer_figures"
    template_name = "insights/scoring/contact_list.html"
    keyset_ordering = CONTACT_ORDERING

    def get_queryset(self):
        return _queryset(self.request)

    def get_keyset(self, queryset):
        return queryset, CONTACT_ORDERING  # the scores are the list's rows as they are

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        segment, mine = _filters(self.request)
        context.update(
            # The rows, written in Python in one pass (a template per row cost most of the page's time).
            contact_rows=contact_rows_html(self.request, self.page.rows),
            segment=segment,
            mine=mine,
            segments=Segment.choices,
            is_filtered=bool(segment or mine),
            definitions=scoring.SEGMENT_DEFINITIONS,
            can_see_spend=self.request.user.has_perm("insights.view_revenue"),
        )
        return context


@login_required
@permission_required(["insights.view_customer_figures", "insights.export_reports"], raise_exception=True)
def contact_export(request: HttpRequest) -> StreamingHttpResponse:
    """The list as CSV (every row, not one page), Excel-safe: a BOM, CRLF, formula-like cells quoted."""
    import csv
    import io

    show_spend = request.user.has_perm("insights.view_revenue")
    qs = _queryset(request).order_by(*CONTACT_ORDERING.order_by())
    customers_exported_announce(request=request, queryset=qs, what="insights_scoring:contact_export")

    def chunks():
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        buffer.write(BOM)
        header = [_("Customer ID"), _("Name"), _("Email"), _("Segment"), _("RFM"), _("Days since the last purchase")]
        header += [_("Last purchase"), _("Purchases")] + ([_("Net spend (JPY)")] if show_spend else [])
        writer.writerow([*header, _("Owner"), _("Open follow-up due")])
        for count, row in enumerate(qs.iterator(chunk_size=CSV_CHUNK_SIZE), start=1):
            customer = row.customer
            values = [customer.pk, customer.display_name, customer.email, row.get_segment_display(), row.rfm]
            values += [row.recency_days, local_date(row.last_purchase_at), row.frequency]
            values += [row.monetary] if show_spend else []
            values += [customer.owner.get_username() if customer.owner_id else ""]
            values += [timezone.localtime(row.open_task_due).isoformat(timespec="minutes") if row.open_task_due else ""]
            writer.writerow([_cell(v) for v in values])
            if count % 500 == 0:
                yield buffer.getvalue().encode("utf-8")
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue().encode("utf-8")

    response = StreamingHttpResponse(chunks(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="contact-list-{timezone.localdate().isoformat()}.csv"'
    return response


def _row_response(
    request: HttpRequest, customer: Customer, *, done: str, error: str = "", undo: Touchpoint | None = None
) -> HttpResponse:
    """htmx: the row again, with what was done; a plain POST: back to the list with a message."""
    if not request.headers.get("HX-Request"):
        if error:
            messages.error(request, error)
        else:
            messages.success(request, done)
        return redirect(reverse("insights_scoring:contact_list"))
    row = scoring.contact_rows(CustomerScore.objects.filter(customer=customer)).first()
    if row is None:
        raise Http404
    return HttpResponse(contact_rows_html(request, [row], done=done, error=error, undo=undo))


@login_required
@permission_required(["insights.view_customer_figures", "touchpoints.add_touchpoint"], raise_exception=True)
@require_POST
def contact_call(request: HttpRequest, pk: int) -> HttpResponse:
    customer = get_object_or_404(Customer, pk=pk)
    key = request.POST.get("key", "")
    if not KEY_RE.match(key):
        return HttpResponse(status=400)
    try:
        touchpoint = scoring.contact_call_log(
            customer=customer,
            by=request.user,
            key=f"{request.user.pk}:{key}",
            outcome=request.POST.get("outcome", "")[:20],
            note=request.POST.get("note", "")[:2000],
        )
    except ValidationError as exc:
        return _row_response(request, customer, done="", error=" ".join(exc.messages))
    return _row_response(
        request,
        customer,
        done=_("Call logged on %(name)s's timeline.") % {"name": customer.display_name},
        undo=touchpoint if scoring.contact_call_undoable(touchpoint, by=request.user) else None,
    )


@login_required
@permission_required(["insights.view_customer_figures", "touchpoints.add_touchpoint"], raise_exception=True)
@require_POST
def contact_call_undo(request: HttpRequest, pk: int, touchpoint: int) -> HttpResponse:
    """Undo a call logged a moment ago (scoring.contact_call_undo: the window and who may are checked there)."""
    customer = get_object_or_404(Customer, pk=pk)
    if not scoring.contact_calls_undoable().filter(pk=touchpoint, customer=customer).exists():
        raise Http404
    try:
        scoring.contact_call_undo(touchpoint_id=touchpoint, by=request.user)
    except Touchpoint.DoesNotExist as exc:  # undone meanwhile by another request
        raise Http404 from exc
    except ValidationError as exc:
        return _row_response(request, customer, done="", error=" ".join(exc.messages))
    return _row_response(request, customer, done=_("Call undone."))


@login_required
@permission_required(["insights.view_customer_figures", "outreach.add_stafftask"], raise_exception=True)
@require_POST
def contact_followup(request: HttpRequest, pk: int) -> HttpResponse:
    customer = get_object_or_404(Customer, pk=pk)
    try:
        task, created = scoring.contact_followup_start(customer=customer, by=request.user)
    except ValidationError as exc:
        return _row_response(request, customer, done="", error=" ".join(exc.messages))
    due = timezone.localtime(task.due_at)
    if created:
        done = _("Follow-up task created for you, due %(due)s.") % {"due": f"{due:%Y-%m-%d %H:%M}"}
    else:
        done = _("A follow-up is already open, due %(due)s.") % {"due": f"{due:%Y-%m-%d %H:%M}"}
    return _row_response(request, customer, done=done)
