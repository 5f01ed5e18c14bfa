"""Forms of the outreach pages: they validate input and nothing else (the services decide)."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.localtime import local_date, local_datetime
from customers.models import Segment
from customers.roles import role_label
from touchpoints.models import Channel, Stage, TouchpointType

from . import outbox, placeholders
from .models import FollowUpRule, MessageChannel, MessageTemplate, OutboundMessage, Purpose

TEXT_FIELDS = ("subject_ja", "body_ja", "subject_en", "body_en")


class MessageTemplateForm(forms.ModelForm):
    class Meta:
        model = MessageTemplate
        fields = [
            "name",
            "slug",
            "channel",
            "line_first",
            "purpose",
            "body_format",
            "subject_ja",
            "body_ja",
            "subject_en",
            "body_en",
            "line_body_ja",
            "line_body_en",
            "line_button_label_ja",
            "line_button_label_en",
            "line_button_url",
            "is_active",
        ]
        widgets = {"body_ja": forms.Textarea(attrs={"rows": 8}), "body_en": forms.Textarea(attrs={"rows": 8})}

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:  # the apps that send a template refer to its slug
            self.fields["slug"].disabled = True
        else:  # new templates are written formatted (HTML mail with its plain-text part)
            self.fields["body_format"].initial = MessageTemplate.BodyFormat.MARKDOWN
        self.fields["body_format"].required = False  # not sent: it stays as it is (plain text for a new one)
        # The identifier is made from the name when left empty (a Japanese name gives "template-N").
        self.fields["slug"].required = False
        self.fields["slug"].label = _("Identifier")
        self.fields["slug"].help_text = _(
            "Optional: made from the name if left empty. Letters a–z, digits, hyphens and underscores."
        )
        self.fields["slug"].error_messages["invalid"] = _(
            "Use only letters a–z, digits, hyphens and underscores, or leave it empty."
        )
        if not outbox.may_send_service_messages(user):  # a service message skips consent: a manager's call
            if self.instance.pk and self.instance.purpose == Purpose.TRANSACTIONAL:
                self.fields["purpose"].disabled = True
            else:
                self.fields["purpose"].choices = [(Purpose.MARKETING.value, Purpose.MARKETING.label)]
        names = ", ".join(p.token for p in placeholders.placeholders())
        for name in ("body_ja", "body_en"):
            self.fields[name].help_text = _("Placeholders: %(names)s") % {"names": names}

    def clean_body_format(self):
        return self.cleaned_data.get("body_format") or self.instance.body_format or MessageTemplate.BodyFormat.PLAIN

    def clean(self):
        cleaned = super().clean()
        if not (cleaned.get("body_ja") or "").strip() and not (cleaned.get("body_en") or "").strip():
            raise ValidationError(_("Write the message in Japanese, in English, or both."))
        for name in TEXT_FIELDS:
            unknown = placeholders.unknown_message(cleaned.get(name) or "")
            if unknown:
                self.add_error(name, unknown)
        if cleaned.get("purpose") == Purpose.MARKETING and cleaned.get("channel") == MessageChannel.EMAIL:
            for name in ("body_ja", "body_en"):
                body = cleaned.get(name) or ""
                if body.strip() and "{unsubscribe_url}" not in body:
                    self.add_error(name, _("Marketing email must include {unsubscribe_url}."))
        return cleaned


class PreviewForm(forms.Form):
    customer = forms.CharField(
        label=_("Preview for customer"), max_length=200, help_text=_("Customer number, email or name.")
    )


class FollowUpRuleForm(forms.ModelForm):
    condition_stages = forms.MultipleChoiceField(
        label=_("Only customers now in these stages"),
        choices=Stage.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: any stage."),
    )

    class Meta:
        model = FollowUpRule
        fields = [
            "name",
            "is_active",
            "trigger",
            "trigger_type",
            "trigger_stage",
            "inactive_days",
            "delay_amount",
            "delay_unit",
            "condition_segment",
            "condition_stages",
            "condition_consent",
            "stop_if_purchased",
            "cap_days",
            "action",
            "template",
            "task_title",
            "task_channel",
            "assign_to",
            "assign_group",
        ]

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["trigger_type"].queryset = TouchpointType.objects.active()
        # Templates a rule can fill in (no ticket or survey details), service messages for managers only.
        sendable = [t.pk for t in outbox.sendable_templates(user=user)]
        if self.instance.template_id:  # an existing rule keeps showing its template (the service checks it)
            sendable.append(self.instance.template_id)
        self.fields["template"].queryset = MessageTemplate.objects.filter(pk__in=sendable)
        self.fields["task_title"].help_text = _("What staff should do, e.g. “Call {customer_name}”.")
        self.fields["condition_segment"].queryset = Segment.objects.all()
        self.fields["assign_group"].queryset = Group.objects.order_by("name")
        self.fields["assign_group"].label_from_instance = lambda group: role_label(group.name)
        # Each field shows when its trigger or action is chosen (static/outreach/js/outreach.js).
        shows = {
            "trigger_type": "trigger=touchpoint",
            "trigger_stage": "trigger=stage",
            "inactive_days": "trigger=inactive",
            "template": "action=send",
            "cap_days": "action=send",
            "task_title": "action=task",
            "task_channel": "action=task",
            "assign_to": "action=task",
            "assign_group": "action=task",
        }
        for name, when in shows.items():
            self.fields[name].widget.attrs["data-show-when"] = when

    def clean(self):
        cleaned = super().clean()
        trigger, action = cleaned.get("trigger"), cleaned.get("action")
        required = {
            FollowUpRule.Trigger.TOUCHPOINT: "trigger_type",
            FollowUpRule.Trigger.STAGE: "trigger_stage",
            FollowUpRule.Trigger.INACTIVE: "inactive_days",
        }
        if trigger in required and not cleaned.get(required[trigger]) and required[trigger] not in self.errors:
            if trigger == FollowUpRule.Trigger.INACTIVE and cleaned.get("inactive_days") == 0:
                self.add_error("inactive_days", _("At least one day."))
            else:
                self.add_error(required[trigger], _("Needed for this trigger."))
        elif trigger == FollowUpRule.Trigger.INACTIVE and (cleaned.get("inactive_days") or 0) < 1:
            self.add_error("inactive_days", _("At least one day."))
        if action == FollowUpRule.Action.SEND and not cleaned.get("template"):
            self.add_error("template", _("Choose the message to send."))
        if action == FollowUpRule.Action.TASK and not (cleaned.get("task_title") or "").strip():
            self.add_error("task_title", _("Say what staff should do."))
        elif action == FollowUpRule.Action.TASK and placeholders.unknown_message(cleaned.get("task_title") or ""):
            self.add_error("task_title", placeholders.unknown_message(cleaned["task_title"]))
        if (
            action == FollowUpRule.Action.TASK
            and cleaned.get("assign_to") == FollowUpRule.AssignTo.GROUP
            and not cleaned.get("assign_group")
        ):
            self.add_error("assign_group", _("Choose the team."))
        return cleaned


class BroadcastForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    template = forms.ModelChoiceField(
        label=_("Message template"),
        queryset=MessageTemplate.objects.filter(is_active=True, channel=MessageChannel.EMAIL),
    )
    segment = forms.ModelChoiceField(label=_("Segment"), queryset=Segment.objects.all())
    send_at = forms.DateTimeField(
        label=_("Send at"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("Empty: now. Marketing mail waits out the quiet hours."),
    )
    cap_days = forms.IntegerField(
        label=_("Skip customers who got a marketing message in the last N days"),
        min_value=0,
        max_value=365,
        initial=0,
        required=False,
    )
    # The number of recipients staff saw on the confirmation ("send to N customers?"), checked again on sending.
    expected = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Marketing email that needs nothing but the customer: a broadcast is mass mail, consent always applies.
        sendable = [t.pk for t in outbox.sendable_templates(user=None, purposes=(Purpose.MARKETING,))]
        self.fields["template"].queryset = MessageTemplate.objects.filter(pk__in=sendable).filter(
            Q(channel__in=[MessageChannel.EMAIL, MessageChannel.LINE]) | Q(line_first=True)
        )

    def clean_send_at(self):
        value = self.cleaned_data.get("send_at")
        if value is not None and value < timezone.now() - dt.timedelta(minutes=5):
            raise ValidationError(_("Choose a time in the future, or leave it empty to send now."))
        if value is not None and value > timezone.now() + dt.timedelta(days=366):
            raise ValidationError(_("Choose a time within a year."))
        return value


class OutboxFilterForm(forms.Form):
    """The outbox page's whitelisted filters; anything else in the query string is ignored."""

    status = forms.ChoiceField(choices=[("", _("Any status")), *OutboundMessage.Status.choices], required=False)
    purpose = forms.ChoiceField(choices=[("", _("Any purpose")), *Purpose.choices], required=False)
    reason = forms.ChoiceField(
        choices=[("", _("Any reason")), *[c for c in OutboundMessage.SkipReason.choices if c[0]]], required=False
    )
    channel = forms.ChoiceField(choices=[("", _("Any channel")), *MessageChannel.choices], required=False)
    broadcast = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    template = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    customer = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def filters(self) -> dict:
        if not self.is_valid():
            return {}
        return {k: v for k, v in self.cleaned_data.items() if v not in (None, "")}

    def is_filtered(self) -> bool:
        return bool(self.filters())


class TaskDoneForm(forms.Form):
    touchpoint_type = forms.ModelChoiceField(
        label=_("Log as"),
        queryset=TouchpointType.objects.active(),
        required=False,
        empty_label=_("Do not log a touchpoint"),
    )
    summary = forms.CharField(label=_("What happened"), max_length=1000, required=False)


def task_workers():
    """Active staff who may work staff tasks (by their role or their own permissions): a task given to anyone else
    would vanish from every list they can open."""
    works = Q(codename="change_stafftask", content_type__app_label="outreach")
    permission = Permission.objects.filter(works)
    return (
        get_user_model()
        .objects.filter(is_active=True, is_staff=True)
        .filter(Q(is_superuser=True) | Q(groups__permissions__in=permission) | Q(user_permissions__in=permission))
        .distinct()
        .order_by("username")
    )


class TaskReassignForm(forms.Form):
    assignee = forms.ModelChoiceField(
        label=_("Assign to"),
        queryset=get_user_model().objects.none(),
        required=False,
        empty_label=_("Nobody (the team)"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = task_workers()


class ManualTaskForm(forms.Form):
    """A task staff give by hand from the customer page ("call her back tomorrow")."""

    title = forms.CharField(label=_("What needs doing"), max_length=200)
    due_at = forms.DateTimeField(
        label=_("Due"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    )
    assignee = forms.ModelChoiceField(
        label=_("Assign to"),
        queryset=get_user_model().objects.none(),
        required=False,
        empty_label=_("Nobody (the team)"),
    )
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices, initial=Channel.PHONE)
    note = forms.CharField(label=_("Note"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, user=None, now: dt.datetime | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = task_workers()
        now = now or timezone.now()
        # Tomorrow at 10:00, business time: what "call her back tomorrow" means.
        self.fields["due_at"].initial = local_datetime(local_date(now) + dt.timedelta(days=1), dt.time(10))
        if user is not None:
            self.fields["assignee"].initial = user.pk

    def clean_due_at(self):
        value = self.cleaned_data["due_at"]
        if value > timezone.now() + dt.timedelta(days=366):
            raise ValidationError(_("Choose a time within a year."))
        return value


class TaskSnoozeForm(forms.Form):
    until = forms.ChoiceField(
        label=_("Snooze until"),
        choices=[("1h", _("In an hour")), ("tomorrow", _("Tomorrow 9:00")), ("week", _("In a week"))],
    )

    def until_time(self, now: dt.datetime) -> dt.datetime:
        choice = self.cleaned_data["until"]
        if choice == "1h":
            return now + dt.timedelta(hours=1)
        if choice == "tomorrow":
            return local_datetime(local_date(now) + dt.timedelta(days=1), dt.time(9))
        return now + dt.timedelta(days=7)


class StaffTaskScope(forms.Form):
    scope = forms.ChoiceField(
        choices=[("mine", _("Mine")), ("team", _("My teams' unassigned")), ("all", _("Everyone's"))], required=False
    )
