"""Staff pages of outreach: message templates (with preview), follow-up rules, the outbox, broadcasts and
"my follow-ups". Each view reads through queryset methods and writes through one service call."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST
from django.views.generic import CreateView, ListView, UpdateView

from customers.localtime import local_day_start
from customers.models import Customer
from customers.pagination import KeysetListView
from customers.service_errors import apply_service_errors

from . import broadcasts, outbox, richtext, rules
from .forms import (
    BroadcastForm,
    FollowUpRuleForm,
    ManualTaskForm,
    MessageTemplateForm,
    OutboxFilterForm,
    PreviewForm,
    StaffTaskScope,
    TaskDoneForm,
    TaskReassignForm,
    TaskSnoozeForm,
)
from .line import pages as line_pages
from .models import Broadcast, FollowUp, FollowUpRule, MessageTemplate, OutboundMessage, StaffTask
from .outbox.enqueue import render_line
from .outbox_rows import outbox_rows_html
from .querysets import OUTBOX_ORDERING

# --- Message templates ----------------------------------------------------------------------------


class TemplateListView(LoginRequiredMixin, PermissionRequiredMixin, ListView):
    permission_required = "outreach.view_messagetemplate"
    template_name = "outreach/template_list.html"
    context_object_name = "templates"

    def get_queryset(self):
        return MessageTemplate.objects.all()


class TemplateFormMixin:
    model = MessageTemplate
    form_class = MessageTemplateForm
    template_name = "outreach/template_form.html"

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def form_valid(self, form):
        try:
            self.object = outbox.message_template_save(template=form.instance, by=self.request.user)
        except ValidationError as exc:
            apply_service_errors(form, exc)
            return self.form_invalid(form)
        messages.success(self.request, _("Message template saved."))
        return redirect("outreach:template_update", pk=self.object.pk)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["preview_form"] = PreviewForm()
        return context


class TemplateCreateView(LoginRequiredMixin, PermissionRequiredMixin, TemplateFormMixin, CreateView):
    permission_required = "outreach.add_messagetemplate"


class TemplateUpdateView(LoginRequiredMixin, PermissionRequiredMixin, TemplateFormMixin, UpdateView):
    permission_required = "outreach.change_messagetemplate"


def _find_customers(query: str) -> list[Customer]:
    """The customers a preview query names: by number, by email, or up to ``PREVIEW_MATCHES`` by name."""
    query = query.strip()
    if query.isdigit():
        return list(Customer.objects.filter(pk=int(query)))
    if "@" in query:
        return list(Customer.objects.with_email(query)[:1])
    return list(Customer.objects.search(query).order_by("name_sort", "id")[:PREVIEW_MATCHES])


PREVIEW_MATCHES = 5  # a name several customers share: the preview shows the first and names the others


@login_required
@permission_required(["outreach.view_messagetemplate", "customers.view_customer"], raise_exception=True)
def template_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """The template rendered for one customer, as they would receive it (nothing is sent)."""
    template = get_object_or_404(MessageTemplate, pk=pk)
    return render(request, "outreach/includes/_template_preview.html", _preview_context(template, request.GET or None))


@login_required
@permission_required(["outreach.view_messagetemplate", "customers.view_customer"], raise_exception=True)
@require_POST
def template_preview_unsaved(request: HttpRequest) -> HttpResponse:
    """The template as typed in the form, not yet saved, rendered for a customer (nothing is saved or sent)."""
    form = MessageTemplateForm(request.POST, user=request.user)
    form.is_valid()  # the preview shows what it can; saving reports the errors
    data = form.cleaned_data
    template = MessageTemplate(
        name=data.get("name") or "",
        channel=data.get("channel") or "email",
        purpose=data.get("purpose") or "marketing",
        body_format=data.get("body_format") or MessageTemplate.BodyFormat.PLAIN,
        **{name: data.get(name) or "" for name in ("subject_ja", "body_ja", "subject_en", "body_en")},
    )
    return render(request, "outreach/includes/_template_preview.html", _preview_context(template, request.POST))


def _preview_context(template: MessageTemplate, query) -> dict:
    form = PreviewForm(query)
    context: dict = {"template": template, "form": form}
    if form.is_valid():
        matches = _find_customers(form.cleaned_data["customer"])
        customer = matches[0] if matches else None
        if customer is None:
            context["not_found"] = True
        else:
            context["others"] = matches[1:]
            language, subject, body = outbox.render_for(template, customer)
            reason = outbox.skip_reason_for(customer, purpose=template.purpose, channel=template.channel)
            context.update(
                customer=customer,
                language=language,
                language_name=dict(settings.LANGUAGES).get(language, language),
                subject=subject,
                body=body,
                # Sanitised by nh3 (richtext.py): what the HTML part of the mail shows.
                body_html=richtext.markdown_fragment(body, for_mail=False)
                if template.body_format == "markdown"
                else "",
                reason=OutboundMessage.SkipReason(reason).label if reason else "",
            )
    return context


# --- Follow-up rules ------------------------------------------------------------------------------


class RuleListView(LoginRequiredMixin, PermissionRequiredMixin, ListView):
    permission_required = "outreach.view_followuprule"
    template_name = "outreach/rule_list.html"
    context_object_name = "rules"

    def get_queryset(self):
        return FollowUpRule.objects.select_related("trigger_type", "template", "condition_segment", "assign_group")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["scheduled"] = FollowUp.objects.filter(status=FollowUp.Status.SCHEDULED).count()
        return context


class RuleFormMixin:
    model = FollowUpRule
    form_class = FollowUpRuleForm
    template_name = "outreach/rule_form.html"
    success_url = reverse_lazy("outreach:rules")

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def form_valid(self, form):
        try:
            rules.rule_save(rule=form.instance, by=self.request.user)
        except ValidationError as exc:
            apply_service_errors(form, exc)
            return self.form_invalid(form)
        messages.success(self.request, _("Follow-up rule saved."))
        return redirect(self.success_url)


class RuleCreateView(LoginRequiredMixin, PermissionRequiredMixin, RuleFormMixin, CreateView):
    permission_required = "outreach.add_followuprule"


class RuleUpdateView(LoginRequiredMixin, PermissionRequiredMixin, RuleFormMixin, UpdateView):
    permission_required = "outreach.change_followuprule"


# --- Outbox ---------------------------------------------------------------------------------------


class OutboxListView(LoginRequiredMixin, PermissionRequiredMixin, KeysetListView):
    permission_required = "outreach.view_outboundmessage"
    template_name = "outreach/outbox_list.html"
    results_template_name = "outreach/includes/_outbox_results.html"
    results_target = "outbox-results"
    keyset_ordering = OUTBOX_ORDERING

    def get_queryset(self):
        self.filter_form = OutboxFilterForm(self.request.GET or None)
        return OutboundMessage.objects.readable_by(self.request.user).filter_by(**self.filter_form.filters())

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            # The rows, written in Python in one pass (a template per row cost most of the page's time).
            outbox_rows=outbox_rows_html(self.page.rows),
            filter_form=self.filter_form,
            is_filtered=self.filter_form.is_filtered(),
        )
        return context


@login_required
@permission_required("outreach.view_outboundmessage", raise_exception=True)
def outbox_detail(request: HttpRequest, pk: int) -> HttpResponse:
    message = get_object_or_404(
        OutboundMessage.objects.readable_by(request.user).select_related(
            "customer", "template", "broadcast", "followup__rule", "touchpoint"
        ),
        pk=pk,
    )
    return render(request, "outreach/outbox_detail.html", {"message": message})


@login_required
@permission_required("outreach.change_outboundmessage", raise_exception=True)
@require_POST
def outbox_retry(request: HttpRequest, pk: int) -> HttpResponse:
    message = get_object_or_404(OutboundMessage.objects.readable_by(request.user), pk=pk)
    if outbox.message_retry(message=message, by=request.user):
        messages.success(request, _("The message is queued again."))
    else:
        messages.error(request, _("Only failed messages can be retried."))
    return redirect("outreach:outbox_detail", pk=pk)


@login_required
@permission_required("outreach.change_outboundmessage", raise_exception=True)
@require_POST
def outbox_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    message = get_object_or_404(OutboundMessage.objects.readable_by(request.user), pk=pk)
    if outbox.message_cancel(message=message, by=request.user):
        messages.success(request, _("The message was cancelled."))
    else:
        messages.error(request, _("Only queued messages can be cancelled."))
    return redirect("outreach:outbox_detail", pk=pk)


# --- Broadcasts -----------------------------------------------------------------------------------


class BroadcastListView(LoginRequiredMixin, PermissionRequiredMixin, ListView):
    permission_required = "outreach.view_broadcast"
    template_name = "outreach/broadcast_list.html"
    context_object_name = "broadcasts"
    paginate_by = 50

    def get_queryset(self):
        return Broadcast.objects.select_related("template", "segment", "created_by")


def _confirm_context(form: BroadcastForm) -> dict:
    """The confirmation page: who it reaches, who not and why, the message as a sample recipient gets it."""
    data = form.cleaned_data
    template = data["template"]
    audience = broadcasts.broadcast_audience(segment=data["segment"], cap_days=data["cap_days"] or 0, template=template)
    sample = broadcasts.broadcast_sample(segment=data["segment"])
    context: dict = {"form": form, "audience": audience, "template": template, "sample": sample}
    if sample is not None and template.channel == "line" and not template.line_first:
        # A LINE template's preview is its LINE text (the bubble's text; the button's link under it).
        language, subject, body, link, _label = render_line(template, sample)
        context.update(
            language_name=dict(settings.LANGUAGES).get(language, language),
            subject=subject,
            body=f"{body}\n{link}" if link else body,
            body_html="",
        )
    elif sample is not None:
        language, subject, body = outbox.render_for(template, sample)
        context.update(
            language_name=dict(settings.LANGUAGES).get(language, language),
            subject=subject,
            body=body,
            body_html=richtext.markdown_fragment(body, for_mail=False) if template.body_format == "markdown" else "",
        )
    context["held_until"] = outbox.quiet_until(data["send_at"] or timezone.now())
    context["line_quota"] = line_pages.quota() if template.channel == "line" or template.line_first else None
    return context


@login_required
@permission_required("outreach.add_broadcast", raise_exception=True)
def broadcast_create(request: HttpRequest) -> HttpResponse:
    """Three steps on one address: the form; its confirmation (audience, preview, a test to oneself); the send,
    which carries the count confirmed and fails if the audience has changed since."""
    # ?segment= preselects the segment (a list saved as one from a figure's customers).
    form = BroadcastForm(request.POST or None, initial={"segment": request.GET.get("segment", "")[:12]})
    action = request.POST.get("action", "review")
    if request.method == "POST" and form.is_valid() and action != "edit":
        data = form.cleaned_data
        if action == "send" and data["expected"] is not None:
            try:
                broadcast = broadcasts.broadcast_create(
                    name=data["name"],
                    template=data["template"],
                    segment=data["segment"],
                    send_at=data["send_at"],
                    cap_days=data["cap_days"] or 0,
                    expected_recipients=data["expected"],
                    by=request.user,
                )
            except ValidationError as exc:
                if getattr(exc, "code", None) != "audience_changed":
                    apply_service_errors(form, exc)
                    return render(
                        request, "outreach/broadcast_form.html", {"form": form, "line_quota": line_pages.quota()}
                    )
                messages.error(request, " ".join(exc.messages))
            else:
                messages.success(request, _("Broadcast created."))
                return redirect(broadcast)
        elif action == "test":
            sample = broadcasts.broadcast_sample(segment=data["segment"])
            try:
                if sample is None:
                    raise ValidationError(_("The segment has no customer to fill the test in with."))
                broadcasts.broadcast_test_send(template=data["template"], customer=sample, by=request.user)
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
            else:
                messages.success(request, _("A test was sent to %(email)s.") % {"email": request.user.email})
        return render(request, "outreach/broadcast_confirm.html", _confirm_context(form))
    return render(request, "outreach/broadcast_form.html", {"form": form, "line_quota": line_pages.quota()})


def _progress_context(broadcast: Broadcast) -> dict:
    counts = broadcast.counts if broadcast.status in (Broadcast.Status.DONE, Broadcast.Status.CANCELLED) else None
    if not counts:
        counts = broadcasts.broadcast_counts(broadcast)
    pending = counts.get("queued", 0) + counts.get("sending", 0)
    percent = round(100 * broadcast.prepared_count / broadcast.total) if broadcast.total else 0
    live = broadcast.status in (Broadcast.Status.SCHEDULED, Broadcast.Status.PREPARING, Broadcast.Status.SENDING)
    held, held_until = broadcasts.broadcast_held(broadcast) if pending else (0, None)
    return {
        "broadcast": broadcast,
        "counts": counts,
        "pending": pending,
        "percent": min(percent, 100),
        "live": live,
        "held": held,
        "held_until": held_until,
    }


@login_required
@permission_required("outreach.view_broadcast", raise_exception=True)
def broadcast_detail(request: HttpRequest, pk: int) -> HttpResponse:
    broadcast = get_object_or_404(Broadcast.objects.select_related("template", "segment", "created_by"), pk=pk)
    return render(request, "outreach/broadcast_detail.html", _progress_context(broadcast))


@login_required
@permission_required("outreach.view_broadcast", raise_exception=True)
def broadcast_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress card alone, polled by htmx while the broadcast runs."""
    broadcast = get_object_or_404(Broadcast, pk=pk)
    return render(request, "outreach/includes/_broadcast_progress.html", _progress_context(broadcast))


@login_required
@permission_required("outreach.change_broadcast", raise_exception=True)
@require_POST
def broadcast_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    broadcast = get_object_or_404(Broadcast, pk=pk)
    try:
        stopped = broadcasts.broadcast_cancel(broadcast=broadcast, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            ngettext(
                "Broadcast cancelled; %(n)d queued message stopped.",
                "Broadcast cancelled; %(n)d queued messages stopped.",
                stopped,
            )
            % {"n": stopped},
        )
    return redirect(broadcast)


# --- My follow-ups (staff tasks) ------------------------------------------------------------------

UPCOMING_TASKS = 50  # shown below today's; the rest are counted


@login_required
@permission_required("outreach.view_stafftask", raise_exception=True)
def task_list(request: HttpRequest) -> HttpResponse:
    scope_form = StaffTaskScope(request.GET or None)
    scope = scope_form.cleaned_data.get("scope") if scope_form.is_valid() else ""
    scope = scope or "mine"
    now = timezone.now()
    today = timezone.localdate(now)
    start_of_today, end_of_today = local_day_start(today), local_day_start(today + dt.timedelta(days=1))
    # Overdue: due before today (as in HubSpot: a task due this morning is "due today" until the day ends);
    # upcoming: the next week's (snoozed tasks among them), so that none drops out of sight.
    open_tasks = StaffTask.objects.for_user(request.user, scope)
    tasks = list(open_tasks.filter(due_at__lt=end_of_today).for_list()[:200])
    upcoming = list(open_tasks.filter(due_at__gte=end_of_today).for_list()[:UPCOMING_TASKS])
    later = (
        open_tasks.filter(due_at__gte=end_of_today).count() - len(upcoming) if len(upcoming) == UPCOMING_TASKS else 0
    )
    return render(
        request,
        "outreach/task_list.html",
        {
            "overdue": [t for t in tasks if t.due_at < start_of_today],
            "due": [t for t in tasks if t.due_at >= start_of_today],
            "upcoming": upcoming,
            "later": later,
            "scope": scope,
            # The menus of every row, read once (a form field's choices would query again on each row).
            "type_choices": list(TaskDoneForm().fields["touchpoint_type"].choices),
            "assignee_choices": list(TaskReassignForm().fields["assignee"].choices),
            "snooze_choices": TaskSnoozeForm().fields["until"].choices,
            "now": now,
        },
    )


@login_required
@permission_required(["outreach.change_stafftask", "customers.view_customer"], raise_exception=True)
@require_http_methods(["GET", "POST"])
def customer_task_create(request: HttpRequest, customer_pk: int) -> HttpResponse:
    """A task given by hand from the customer page ("call her back tomorrow"). The form is fetched by the page's
    outreach panel once shown (GET): its list of who may be assigned is a query the page itself does not pay."""
    customer = get_object_or_404(Customer, pk=customer_pk)
    if request.method == "GET":
        form = ManualTaskForm(user=request.user, auto_id="id_task_%s")
        return render(request, "outreach/includes/_manual_task_form.html", {"customer": customer, "task_form": form})
    form = ManualTaskForm(request.POST, user=request.user)
    if form.is_valid():
        data = form.cleaned_data
        try:
            rules.task_create(
                customer=customer,
                title=data["title"],
                due_at=data["due_at"],
                assignee=data["assignee"],
                channel=data["channel"],
                note=data["note"],
                by=request.user,
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Task created."))
    else:
        messages.error(
            request,
            _("The task was not created: %(errors)s")
            % {"errors": " ".join(e for errs in form.errors.values() for e in errs)},
        )
    return redirect(customer)


def _task_for(request: HttpRequest, pk: int) -> StaffTask:
    """A task the user may act on: theirs, their teams', or anyone's for those who may see all (managers)."""
    qs = StaffTask.objects.select_related("customer")
    if not request.user.has_perm("outreach.add_stafftask"):
        qs = qs.filter(Q(assignee=request.user) | Q(assignee__isnull=True, group__in=request.user.groups.all()))
    return get_object_or_404(qs, pk=pk)


def _back_to_tasks(request: HttpRequest) -> HttpResponse:
    scope = request.POST.get("scope")
    return redirect(reverse("outreach:tasks") + (f"?scope={scope}" if scope in ("team", "all") else ""))


@login_required
@permission_required("outreach.change_stafftask", raise_exception=True)
@require_POST
def task_done(request: HttpRequest, pk: int) -> HttpResponse:
    task = _task_for(request, pk)
    form = TaskDoneForm(request.POST)
    if form.is_valid():
        touchpoint_type = form.cleaned_data["touchpoint_type"]
        if touchpoint_type is not None and not request.user.has_perm("touchpoints.add_touchpoint"):
            return HttpResponse(status=403)
        try:
            rules.task_complete(
                task=task, by=request.user, touchpoint_type=touchpoint_type, summary=form.cleaned_data["summary"]
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Task done."))
    else:
        messages.error(request, _("The task was not closed."))
    return _back_to_tasks(request)


@login_required
@permission_required("outreach.change_stafftask", raise_exception=True)
@require_POST
def task_reassign(request: HttpRequest, pk: int) -> HttpResponse:
    task = _task_for(request, pk)
    form = TaskReassignForm(request.POST)
    if form.is_valid():
        try:
            rules.task_reassign(task=task, assignee=form.cleaned_data["assignee"], by=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Task reassigned."))
    return _back_to_tasks(request)


@login_required
@permission_required("outreach.change_stafftask", raise_exception=True)
@require_POST
def task_snooze(request: HttpRequest, pk: int) -> HttpResponse:
    task = _task_for(request, pk)
    form = TaskSnoozeForm(request.POST)
    if form.is_valid():
        try:
            rules.task_snooze(task=task, until=form.until_time(timezone.now()), by=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Task snoozed."))
    return _back_to_tasks(request)
