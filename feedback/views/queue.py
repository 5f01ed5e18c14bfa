"""The staff queue of tickets and its bulk actions."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from customers.pagination import count_capped, keyset_page

from .. import services
from ..forms import BulkForm, QueueFilterForm
from ..models import Ticket
from ..querysets import QUEUES, TICKET_ORDERINGS
from ..queue import filter_selects_html, queue_rows, queue_rows_html
from ..references import parse_reference
from .tickets import staff_choices

# A queue says "more than 1,000" rather than count further (each count is a scan of the matching rows).
QUEUE_COUNT_CAP = 1_000


@login_required
@permission_required("feedback.view_ticket", raise_exception=True)
def ticket_queue(request: HttpRequest) -> HttpResponse:
    """Queues of tickets with their SLA countdowns, a page at a time by keyset (a constant number of queries)."""
    form = QueueFilterForm(request.GET or None)
    q = form.value("q")
    reference = parse_reference(q) if q and (q.upper().startswith("T") or q.isdigit()) else None
    if reference and Ticket.objects.filter(pk=reference).exists():
        return redirect("feedback:ticket_detail", pk=reference)
    now = timezone.now()
    queue = form.value("queue")
    qs = (
        Ticket.objects.queue(queue, user=request.user, now=now)
        .filter_by(status=form.value("status"), priority=form.value("priority"), kind=form.value("kind"))
        .search(q if len(q) >= 2 or "@" in q else "")
    )
    if form.customer_id():
        qs = qs.filter(customer_id=form.customer_id())
    sort = form.sort_key()
    page = keyset_page(
        qs.for_queue(),
        TICKET_ORDERINGS[sort],
        after=request.GET.get("after", ""),
        before=request.GET.get("before", ""),
    )
    page.count, page.count_capped = count_capped(qs, QUEUE_COUNT_CAP)
    query = request.GET.copy()
    for key in ("after", "before"):
        query.pop(key, None)
    can_bulk = request.user.has_perm("feedback.bulk_change_ticket")
    rows = queue_rows(page.rows, now=now)
    context = {
        "page": page,
        "rows": rows,
        "rows_html": queue_rows_html(rows, can_bulk=can_bulk),
        "form": form,
        "queue": queue,
        "queues": QUEUES,
        "sort": sort,
        "query": query.urlencode(),
        "now": now,
        "staff_choices": staff_choices() if can_bulk else [],
        "short_query": bool(q) and len(q) < 3 and "@" not in q,
        "can_bulk": can_bulk,
    }
    if request.headers.get("HX-Request") and request.headers.get("HX-Target") == "queue-results":
        return render(request, "feedback/includes/_queue_results.html", context)
    context["filter_selects"] = filter_selects_html(form, sort=sort)
    return render(request, "feedback/ticket_queue.html", context)


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
