"""Staff pages of one ticket: opening a new one, its page and conversation, and its one-shot actions."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from customers.models import Customer
from customers.names import staff_name
from customers.pagination import Ordering, keyset_page
from customers.querysets import normalize_search
from customers.reads import customers_exported_announce
from customers.service_errors import apply_service_errors
from touchpoints.models import Touchpoint

from .. import services
from ..conversation import messages_html, opening_attachments_html
from ..forms import AssignForm, ReplyForm, StatusForm, TicketCreateForm, TicketUpdateForm, staff_queryset
from ..models import CannedResponse, FeedbackPhoto, Priority, Status, Ticket, TicketMessage
from .form_errors import form_error_text

MESSAGES_PER_PAGE = 30
CUSTOMER_SEARCH_LIMIT = 10
TOUCHPOINT_CHOICES = 20


def _get_ticket(pk: int, queryset=None) -> Ticket:
    if pk > 2**63 - 1:
        raise Http404
    return get_object_or_404(queryset if queryset is not None else Ticket.objects.all(), pk=pk)


def _customer_from(value) -> Customer | None:
    if value is None or not str(value).isdigit() or len(str(value)) > 18:
        return None
    return Customer.objects.select_related("owner").filter(pk=int(value)).first()


def _touchpoint_choices(customer: Customer | None) -> list:
    if customer is None:
        return []
    return list(
        Touchpoint.objects.for_customer(customer)
        .select_related("type")
        .only("id", "occurred_at", "summary", "order_reference", "type__name", "channel")
        .order_by("-occurred_at", "-id")[:TOUCHPOINT_CHOICES]
    )


@login_required
@permission_required("feedback.add_ticket", raise_exception=True)
@require_http_methods(["GET", "POST"])
def ticket_create(request: HttpRequest) -> HttpResponse:
    """A ticket for a customer found by search (never a menu of every customer)."""
    customer = _customer_from(request.POST.get("customer") if request.method == "POST" else request.GET.get("customer"))
    form = TicketCreateForm(request.POST or None, initial={"customer": customer.pk if customer else None})
    touchpoints = _touchpoint_choices(customer)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        touchpoint = next((t for t in touchpoints if t.pk == data["touchpoint"]), None) if data["touchpoint"] else None
        if customer is None:
            form.add_error(None, _("Choose the customer first."))
        elif data["touchpoint"] and touchpoint is None:
            form.add_error("touchpoint", _("Choose one of the customer's recent touchpoints."))
        else:
            try:
                ticket = services.ticket_open(
                    customer=customer,
                    subject=data["subject"],
                    body=data["body"],
                    kind=data["kind"],
                    channel=data["channel"],
                    priority=data["priority"],
                    assignee=data["assignee"],
                    tags=data["tags"],
                    touchpoint=touchpoint,
                    order_reference=data["order_reference"],
                    by=request.user,
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("Ticket %(reference)s opened.") % {"reference": ticket.reference})
                return redirect(ticket)
    q = request.GET.get("q", "")[:100]
    results = _customer_search(q) if q and customer is None else []
    return render(
        request,
        "feedback/ticket_form.html",
        {
            "form": form,
            "customer": customer,
            "touchpoints": touchpoints,
            "q": q,
            "results": results,
            "staff": list(staff_queryset().only("id", "username", "first_name", "last_name")),
        },
    )


def _customer_search(q: str) -> list[Customer]:
    if not normalize_search(q):
        return []
    return list(
        Customer.objects.search(q)
        .only("id", "family_name", "given_name", "email", "phone", "company")
        .order_by("-activity__last_activity_at", "-id")[:CUSTOMER_SEARCH_LIMIT]
    )


@login_required
@permission_required("feedback.add_ticket", raise_exception=True)
@require_GET
def customer_search(request: HttpRequest) -> HttpResponse:
    """Autocomplete for the new-ticket page: ten customers at most, by name, kana, email or phone."""
    q = request.GET.get("q", "")[:100]
    return render(request, "feedback/includes/_customer_results.html", {"results": _customer_search(q), "q": q})


# --- Staff: the ticket page -----------------------------------------------------------------------


def _conversation(ticket: Ticket, *, before: str = "") -> tuple[list[TicketMessage], str]:
    """The newest messages (or those before a cursor), shown oldest first, and the cursor for older ones."""
    page = keyset_page(
        TicketMessage.objects.for_ticket(ticket),
        Ordering("created_at", descending=True),
        after=before,
        size=MESSAGES_PER_PAGE,
    )
    rows = list(reversed(page.rows))
    return rows, page.next_cursor


@login_required
@permission_required("feedback.view_ticket", raise_exception=True)
@require_GET
def ticket_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The ticket page: a constant number of queries and a bounded size, whatever the tables hold."""
    ticket = _get_ticket(pk, Ticket.objects.for_detail())
    return render(request, "feedback/ticket_detail.html", _detail_context(request, ticket))


def staff_choices() -> list[tuple[int, str]]:
    """Who can be assigned, as (id, name) for the assignee boxes."""
    staff = staff_queryset().only("id", "username", "first_name", "last_name")
    return [(user.pk, staff_name(user)) for user in staff]


def _detail_context(request: HttpRequest, ticket: Ticket, **extra) -> dict:
    conversation, older = _conversation(ticket)
    can_change = request.user.has_perm("feedback.change_ticket")
    transitions = services.allowed_transitions(ticket.status) if can_change else []
    context = {
        "ticket": ticket,
        "photos": list(FeedbackPhoto.objects.filter(ticket=ticket).only("pk", "size", "content_type")),
        "customer": ticket.customer,
        "conversation": conversation,
        "conversation_html": messages_html(conversation),
        "opening_files": opening_attachments_html(ticket),
        "older_cursor": older,
        "now": timezone.now(),
        "labels": {
            "status": dict(Status.choices).get(ticket.status, ticket.status),
            "priority": dict(Priority.choices).get(ticket.priority, ticket.priority),
            "kind": dict(Ticket.Kind.choices).get(ticket.kind, ticket.kind),
            "channel": dict(Ticket.Channel.choices).get(ticket.channel, ticket.channel),
        },
        "transitions": transitions,
        "can_change": can_change,
        "reply_form": ReplyForm() if can_change else None,
        "update_form": TicketUpdateForm(
            initial={
                "subject": ticket.display_subject,
                "kind": ticket.kind,
                "priority": ticket.priority,
                "tags": ", ".join(t.name for t in ticket.tags.all()),
                "order_reference": ticket.order_reference,
            }
        )
        if can_change
        else None,
        "staff_choices": staff_choices() if can_change else [],
        "canned": list(CannedResponse.objects.filter(is_active=True).only("id", "title"))
        if can_change and request.user.has_perm("feedback.view_cannedresponse")
        else [],
        "surveys": list(
            ticket.surveys.select_related("outbound").only(
                "id",
                "kind",
                "score",
                "comment",
                "answered_at",
                "created_at",
                "outbound__id",
                "outbound__status",
                "outbound__skip_reason",
            )
        ),
    }
    context.update(extra)
    if context["reply_form"] is not None:
        statuses = dict(context["reply_form"].fields["status"].choices)
        context["transition_choices"] = [(status, statuses.get(status, "")) for status in transitions]
    return context


@login_required
@permission_required("feedback.view_ticket", raise_exception=True)
@require_GET
def ticket_messages(request: HttpRequest, pk: int) -> HttpResponse:
    """Older messages of the conversation (htmx "show older")."""
    ticket = _get_ticket(pk)
    conversation, older = _conversation(ticket, before=request.GET.get("before", ""))
    return render(
        request,
        "feedback/includes/_conversation.html",
        {
            "ticket": ticket,
            "conversation": conversation,
            "conversation_html": messages_html(conversation),
            "older_cursor": older,
        },
    )


@login_required
@permission_required("feedback.change_ticket", raise_exception=True)
@require_POST
def ticket_reply(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = _get_ticket(pk, Ticket.objects.for_detail())
    form = ReplyForm(request.POST)
    if form.is_valid():
        public = form.cleaned_data["visibility"] == "reply"
        try:
            services.ticket_reply(
                ticket=ticket,
                body=form.cleaned_data["body"],
                public=public,
                status=form.cleaned_data["status"],
                by=request.user,
                idempotency_key=form.cleaned_data["idempotency_key"],
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Reply sent.") if public else _("Note added."))
            return redirect(ticket)
    # Keep what they wrote: the page again, with the errors above the form.
    response = render(request, "feedback/ticket_detail.html", _detail_context(request, ticket, reply_form=form))
    response.status_code = 400
    return response


@login_required
@permission_required("feedback.change_ticket", raise_exception=True)
@require_POST
def ticket_status(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = _get_ticket(pk)
    form = StatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Unknown status."))
        return redirect(ticket)
    try:
        ticket = services.ticket_status_change(ticket=ticket, status=form.cleaned_data["status"], by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Status: %(status)s.") % {"status": ticket.get_status_display()})
    return redirect(ticket)


@login_required
@permission_required("feedback.change_ticket", raise_exception=True)
@require_POST
def ticket_assign(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = _get_ticket(pk)
    form = AssignForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a staff member."))
        return redirect(ticket)
    try:
        services.ticket_assign(ticket=ticket, assignee=form.cleaned_data["assignee"], by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Assignee changed."))
    return redirect(ticket)


@login_required
@permission_required("feedback.change_ticket", raise_exception=True)
@require_POST
def ticket_update(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = _get_ticket(pk, Ticket.objects.for_detail())
    form = TicketUpdateForm(request.POST)
    if form.is_valid():
        try:
            services.ticket_update(ticket=ticket, data=dict(form.cleaned_data), by=request.user)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Ticket saved."))
            return redirect(ticket)
    messages.error(request, _("The ticket was not saved: %(errors)s") % {"errors": form_error_text(form)})
    return redirect(ticket)


@login_required
@permission_required("feedback.change_ticket", raise_exception=True)
@permission_required("feedback.view_cannedresponse", raise_exception=True)
@require_GET
def ticket_canned(request: HttpRequest, pk: int) -> HttpResponse:
    """A canned response filled in for this ticket, as the reply box (htmx swap)."""
    ticket = _get_ticket(pk, Ticket.objects.select_related("customer"))
    canned_id = request.GET.get("canned", "")
    canned = (
        CannedResponse.objects.filter(pk=int(canned_id), is_active=True).first()
        if canned_id.isdigit() and len(canned_id) < 19
        else None
    )
    text = services.canned_response_render(canned=canned, ticket=ticket, agent=request.user) if canned else ""
    return render(request, "feedback/includes/_reply_body.html", {"body": text})


@login_required
@permission_required("feedback.view_ticket", raise_exception=True)
@require_GET
def ticket_photo(request: HttpRequest, pk: int, photo_pk: int) -> FileResponse:
    """A photo sent with the ticket's form message: a download (never shown inline, so a file that is not what it
    claims runs nothing), recorded in the access log as an export of the customer's data."""
    photo = get_object_or_404(FeedbackPhoto.objects.select_related("ticket"), pk=photo_pk, ticket_id=pk)
    customers_exported_announce(
        request=request, queryset=Customer.objects.filter(pk=photo.ticket.customer_id), what="feedback:ticket_photo"
    )
    ext = photo.file.name.rsplit(".", 1)[-1]
    response = FileResponse(
        photo.file.open("rb"),
        as_attachment=True,
        filename=f"{photo.ticket.reference}-photo-{photo.pk}.{ext}",
        content_type=photo.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response
