"""Feedback pages: the public form and survey pages, and the staff queue, ticket page, canned responses,
survey answers and figures. Each view checks its permission and calls one service."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.generic import CreateView, DeleteView, ListView, UpdateView

from customers.models import Customer
from customers.pagination import count_capped, keyset_page
from customers.querysets import normalize_search

from . import figures as feedback_figures
from . import services, throttling
from .conversation import messages_html
from .forms import (
    AssignForm,
    BulkForm,
    CannedResponseForm,
    FiguresForm,
    PublicFeedbackForm,
    QueueFilterForm,
    ReplyForm,
    StatusForm,
    SurveyAnswerForm,
    TicketCreateForm,
    TicketUpdateForm,
    staff_queryset,
)
from .models import CannedResponse, Priority, Status, Survey, Ticket, TicketMessage, parse_reference
from .querysets import QUEUES, TICKET_ORDERINGS
from .queue import filter_selects_html, queue_rows, queue_rows_html

MESSAGES_PER_PAGE = 30
CUSTOMER_SEARCH_LIMIT = 10
TOUCHPOINT_CHOICES = 20
# A queue says "more than 1,000" rather than count further (each count is a scan of the matching rows).
QUEUE_COUNT_CAP = 1_000


def _apply_form_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _form_error_text(form) -> str:
    return " ".join(" ".join(errors) for errors in form.errors.values())


def _get_ticket(pk: int, queryset=None) -> Ticket:
    if pk > 2**63 - 1:
        raise Http404
    return get_object_or_404(queryset if queryset is not None else Ticket.objects.all(), pk=pk)


# --- Public: the feedback form --------------------------------------------------------------------


@csrf_protect
@require_http_methods(["GET", "POST"])
def feedback_form(request: HttpRequest) -> HttpResponse:
    """Anyone may write to us. CSRF, a honeypot and a rate limit per address keep robots out; a person over
    the limit is told when to come back and sees what they typed, so nothing is lost."""
    form = PublicFeedbackForm(request.POST or None)
    status = 200
    if request.method == "POST":
        rate = settings.TSUNAGU_FEEDBACK_RATE_LIMIT
        ident = throttling.client_ip(request)
        wait = throttling.retry_after(scope="feedback-form", ident=ident, rate=rate)
        if wait:
            minutes = max(1, (wait + 59) // 60)
            form.is_valid()  # show what they typed, with any other mistakes
            form.add_error(
                None,
                _(
                    "We received several messages from your address in a short time. Please try again in "
                    "%(minutes)d minute(s): your message is still here."
                )
                % {"minutes": minutes},
            )
            status = 429
        elif form.is_valid():
            throttling.hit(scope="feedback-form", ident=ident, rate=rate)
            if form.is_bot:
                # Say thank you and do nothing: a bot learns nothing from the answer.
                return redirect("feedback:thanks")
            data = form.cleaned_data
            try:
                ticket = services.feedback_submit(
                    name=data["name"],
                    email=data["email"],
                    kind=data["kind"],
                    message=data["message"],
                    language=translation.get_language() or "ja",
                )
            except ValidationError as exc:
                _apply_form_errors(form, exc)
            else:
                return redirect(f"{reverse('feedback:thanks')}?{urlencode({'r': services.thanks_token(ticket)})}")
        else:
            status = 400
    response = render(request, "feedback/public_form.html", {"form": form}, status=status)
    if status == 429:
        response["Retry-After"] = str(throttling.retry_after(scope="feedback-form", ident=ident, rate=rate))
    return response


@require_GET
def feedback_thanks(request: HttpRequest) -> HttpResponse:
    ticket_id = services.ticket_from_thanks_token(request.GET.get("r", ""))
    reference = Ticket(pk=ticket_id).reference if ticket_id else ""
    return render(request, "feedback/public_thanks.html", {"reference": reference})


# --- Public: the survey page ----------------------------------------------------------------------


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def survey_answer(request: HttpRequest, token: str) -> HttpResponse:
    """The page a survey link opens, in the customer's language. GET only shows the question (mail scanners
    follow links); the answer is a POST, accepted once. Forged, expired and answered links say so."""
    try:
        survey = services.survey_from_token(token)
    except services.SurveyLinkError as exc:
        status = 410 if exc.reason == "expired" else 404
        return render(request, "feedback/survey_invalid.html", {"reason": exc.reason}, status=status)
    language = survey.customer.preferred_language or survey.language
    with translation.override(language):
        if survey.is_answered:
            response = render(request, "feedback/survey_done.html", {"survey": survey, "already": True})
        else:
            initial = {}
            preset = request.GET.get("score", "")
            if preset.isdigit() and int(preset) in survey.scale:
                initial["score"] = int(preset)
            form = SurveyAnswerForm(request.POST or None, survey=survey, initial=initial)
            response = None
            if request.method == "POST" and form.is_valid():
                try:
                    survey, recorded = services.survey_answer(
                        survey=survey, score=form.cleaned_data["score"], comment=form.cleaned_data["comment"]
                    )
                except ValidationError as exc:
                    _apply_form_errors(form, exc)
                else:
                    response = render(request, "feedback/survey_done.html", {"survey": survey, "already": not recorded})
            if response is None:
                response = render(
                    request,
                    "feedback/survey_answer.html",
                    {"survey": survey, "form": form, "token": token},
                    status=400 if form.is_bound else 200,
                )
        response["Content-Language"] = language
        return response


# --- Staff: the queue -----------------------------------------------------------------------------


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
        "staff_choices": _staff_choices() if can_bulk else [],
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


# --- Staff: a new ticket --------------------------------------------------------------------------


def _customer_from(value) -> Customer | None:
    if value is None or not str(value).isdigit() or len(str(value)) > 18:
        return None
    return Customer.objects.select_related("owner").filter(pk=int(value)).first()


def _touchpoint_choices(customer: Customer | None) -> list:
    if customer is None:
        return []
    from touchpoints.models import Touchpoint

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
                _apply_form_errors(form, exc)
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
    from customers.pagination import Ordering

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


def _staff_choices() -> list[tuple[int, str]]:
    """Who can be assigned, as (id, name) for the assignee boxes."""
    staff = staff_queryset().only("id", "username", "first_name", "last_name")
    return [(user.pk, user.get_full_name() or user.get_username()) for user in staff]


def _detail_context(request: HttpRequest, ticket: Ticket, **extra) -> dict:
    conversation, older = _conversation(ticket)
    can_change = request.user.has_perm("feedback.change_ticket")
    transitions = services.allowed_transitions(ticket.status) if can_change else []
    context = {
        "ticket": ticket,
        "customer": ticket.customer,
        "conversation": conversation,
        "conversation_html": messages_html(conversation),
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
                "subject": ticket.subject,
                "kind": ticket.kind,
                "priority": ticket.priority,
                "tags": ", ".join(t.name for t in ticket.tags.all()),
                "order_reference": ticket.order_reference,
            }
        )
        if can_change
        else None,
        "staff_choices": _staff_choices() if can_change else [],
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
            _apply_form_errors(form, exc)
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
            _apply_form_errors(form, exc)
        else:
            messages.success(request, _("Ticket saved."))
            return redirect(ticket)
    messages.error(request, _("The ticket was not saved: %(errors)s") % {"errors": _form_error_text(form)})
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


# --- Staff: surveys -------------------------------------------------------------------------------


@login_required
@permission_required("feedback.send_survey", raise_exception=True)
@require_POST
def survey_send(request: HttpRequest, pk: int) -> HttpResponse:
    """Send an NPS survey to one customer (from the customer page)."""
    if pk > 2**63 - 1:
        raise Http404
    customer = get_object_or_404(Customer, pk=pk)
    services.survey_create(customer=customer, kind=Survey.Kind.NPS, by=request.user, source="staff")
    messages.success(request, _("NPS survey queued for %(name)s.") % {"name": customer.display_name})
    return redirect(customer)


@login_required
@permission_required("feedback.view_survey", raise_exception=True)
@require_GET
def survey_list(request: HttpRequest) -> HttpResponse:
    """Survey answers, newest first, by keyset."""
    from customers.pagination import Ordering

    kind = request.GET.get("kind", "")
    qs = Survey.objects.answered()
    if kind in Survey.Kind.values:
        qs = qs.filter(kind=kind)
    unhappy = request.GET.get("unhappy") == "1"
    if unhappy:
        from django.db.models import Q

        qs = qs.filter(Q(kind=Survey.Kind.NPS, score__lte=6) | Q(kind=Survey.Kind.CSAT, score__lte=2))
    page = keyset_page(
        qs.for_list(),
        Ordering("answered_at", descending=True),
        after=request.GET.get("after", ""),
        before=request.GET.get("before", ""),
    )
    query = request.GET.copy()
    for key in ("after", "before"):
        query.pop(key, None)
    return render(
        request,
        "feedback/survey_list.html",
        {"page": page, "kind": kind, "unhappy": unhappy, "kinds": Survey.Kind.choices, "query": query.urlencode()},
    )


@login_required
@permission_required("feedback.view_figures", raise_exception=True)
@require_GET
def figures(request: HttpRequest) -> HttpResponse:
    form = FiguresForm(request.GET or None)
    days = form.period_days()
    start, end = feedback_figures.period(days)
    return render(
        request,
        "feedback/figures.html",
        {"form": form, "days": days, "figures": feedback_figures.feedback_figures(start=start, end=end)},
    )


# --- Staff: canned responses ----------------------------------------------------------------------


class CannedResponseListView(LoginRequiredMixin, PermissionRequiredMixin, ListView):
    permission_required = "feedback.view_cannedresponse"
    template_name = "feedback/cannedresponse_list.html"
    context_object_name = "responses"

    def get_queryset(self):
        return CannedResponse.objects.all()


class CannedResponseFormMixin:
    model = CannedResponse
    form_class = CannedResponseForm
    template_name = "feedback/cannedresponse_form.html"
    success_url = reverse_lazy("feedback:canned")

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            services.canned_response_save(
                title=data["title"],
                body=data["body"],
                is_active=data["is_active"],
                canned=self.object if self.object and self.object.pk else None,
                by=self.request.user,
            )
        except ValidationError as exc:
            _apply_form_errors(form, exc)
            return self.form_invalid(form)
        messages.success(self.request, _("Canned response saved."))
        return redirect(self.success_url)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["placeholders"] = services.CANNED_PLACEHOLDERS
        return context


class CannedResponseCreateView(LoginRequiredMixin, PermissionRequiredMixin, CannedResponseFormMixin, CreateView):
    permission_required = "feedback.add_cannedresponse"

    def form_valid(self, form):
        self.object = None
        return super().form_valid(form)


class CannedResponseUpdateView(LoginRequiredMixin, PermissionRequiredMixin, CannedResponseFormMixin, UpdateView):
    permission_required = "feedback.change_cannedresponse"


class CannedResponseDeleteView(LoginRequiredMixin, PermissionRequiredMixin, DeleteView):
    permission_required = "feedback.delete_cannedresponse"
    model = CannedResponse
    template_name = "feedback/cannedresponse_confirm_delete.html"
    success_url = reverse_lazy("feedback:canned")

    def form_valid(self, form):
        services.canned_response_delete(canned=self.object, by=self.request.user)
        messages.success(self.request, _("Canned response deleted."))
        return redirect(self.success_url)
