"""The staff queue of tickets and its bulk actions."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from customers.pagination import KeysetListView

from .. import services
from ..forms import BulkForm, QueueFilterForm
from ..models import Ticket
from ..querysets import QUEUES, TICKET_ORDERINGS
from ..queue import filter_selects_html, queue_rows, queue_rows_html
from ..references import parse_reference
from .tickets import staff_choices

# A queue says "more than 1,000" rather than count further (each count is a scan of the matching rows).
QUEUE_COUNT_CAP = 1_000


class TicketQueueView(LoginRequiredMixin, PermissionRequiredMixin, KeysetListView):
    """Queues of tickets with their SLA countdowns, a page at a time by keyset (a constant number of queries)."""

    permission_required = "feedback.view_ticket"
    template_name = "feedback/ticket_queue.html"
    results_template_name = "feedback/includes/_queue_results.html"
    results_target = "queue-results"
    orderings = TICKET_ORDERINGS
    count_cap = QUEUE_COUNT_CAP

    def get(self, request, *args, **kwargs):
        self.form = QueueFilterForm(request.GET or None)
        self.q = self.form.value("q")
        q = self.q
        reference = parse_reference(q) if q and (q.upper().startswith("T") or q.isdigit()) else None
        if reference and Ticket.objects.filter(pk=reference).exists():
            return redirect("feedback:ticket_detail", pk=reference)
        self.now = timezone.now()
        return super().get(request, *args, **kwargs)

    def get_sort(self) -> str:
        return self.form.sort_key()

    def get_queryset(self):
        form, q = self.form, self.q
        qs = (
            Ticket.objects.queue(form.value("queue"), user=self.request.user, now=self.now)
            .filter_by(status=form.value("status"), priority=form.value("priority"), kind=form.value("kind"))
            .search(q if len(q) >= 2 or "@" in q else "")
        )
        if form.customer_id():
            qs = qs.filter(customer_id=form.customer_id())
        return qs

    def get_keyset(self, queryset):
        return queryset.for_queue(), TICKET_ORDERINGS[self.sort]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        q = self.q
        can_bulk = self.request.user.has_perm("feedback.bulk_change_ticket")
        rows = queue_rows(self.page.rows, now=self.now)
        context.update(
            rows=rows,
            rows_html=queue_rows_html(rows, can_bulk=can_bulk),
            form=self.form,
            queue=self.form.value("queue"),
            queues=QUEUES,
            now=self.now,
            staff_choices=staff_choices() if can_bulk else [],
            short_query=bool(q) and len(q) < 3 and "@" not in q,
            can_bulk=can_bulk,
        )
        return context

    def render_to_response(self, context, **response_kwargs):
        # The filter menus are drawn on the full page only; an htmx swap replaces the results.
        context["filter_selects"] = filter_selects_html(self.form, sort=self.sort)
        return super().render_to_response(context, **response_kwargs)


@login_required
@permission_required("feedback.bulk_change_ticket", raise_exception=True)
@require_POST
def tickets_bulk(request: HttpRequest) -> HttpResponse:
    form = BulkForm(request.POST)
    back = request.POST.get("next", "")
    if not back.startswith(reverse("feedback:queue")):
        back = reverse("feedback:queue")
    if not form.is_valid():
        messages.error(request, _("Choose tickets and an action."))
        return redirect(back)
    ids, action = form.cleaned_data["ids"], form.cleaned_data["action"]
    try:
        if action == "assign":
            assignee = form.cleaned_data["assignee"]
            count = services.tickets_bulk_assign(ticket_ids=ids, assignee=assignee, by=request.user)
            messages.success(
                request, ngettext("%(n)d ticket assigned.", "%(n)d tickets assigned.", count) % {"n": count}
            )
        else:
            count = services.tickets_bulk_close(ticket_ids=ids, by=request.user)
            messages.success(request, ngettext("%(n)d ticket closed.", "%(n)d tickets closed.", count) % {"n": count})
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect(back)
