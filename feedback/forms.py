"""Forms of the feedback app: they validate input and nothing else; the services write."""

from __future__ import annotations

import unicodedata
import uuid

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils import formats
from django.utils.translation import gettext_lazy as _

from customers.names import staff_name
from customers.phones import normalize_phone

from .models import CannedResponse, Priority, Status, Survey, Ticket
from .querysets import DEFAULT_QUEUE, DEFAULT_TICKET_ORDERING, QUEUES, TICKET_ORDERINGS
from .services import BODY_MAX, COMMENT_MAX, NAME_MAX, ORDER_REFERENCE_MAX, SUBJECT_MAX, parse_tags

User = get_user_model()
PK_MAX = 2**63 - 1


def staff_queryset():
    """Assignees are active staff only (never a list of every user, let alone of every customer)."""
    return User.objects.filter(is_active=True, is_staff=True).order_by("username")


class StaffChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return staff_name(obj)


def _no_nul(value: str) -> str:
    if "\x00" in (value or ""):
        raise ValidationError(_("Null characters are not allowed."))
    return value


# --- Public pages ---------------------------------------------------------------------------------


class PublicFeedbackForm(forms.Form):
    """The public form at /feedback/. ``website`` is a honeypot: hidden from people, filled in by bots."""

    name = forms.CharField(label=_("Your name"), max_length=NAME_MAX, validators=[_no_nul])
    email = forms.EmailField(
        label=_("Your email"), max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    kind = forms.ChoiceField(label=_("What is it about?"), choices=Ticket.Kind.choices, initial=Ticket.Kind.QUESTION)
    message = forms.CharField(
        label=_("Your message"), max_length=BODY_MAX, widget=forms.Textarea(attrs={"rows": 6}), validators=[_no_nul]
    )
    order_reference = forms.CharField(
        label=_("Order number (optional)"), max_length=ORDER_REFERENCE_MAX, required=False, validators=[_no_nul]
    )
    phone = forms.CharField(
        label=_("Phone (optional)"),
        max_length=32,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
        validators=[_no_nul],
    )
    photo = forms.FileField(
        label=_("Photo (optional)"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp,image/heic"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["photo"].help_text = _(
            "One photo, e.g. of a damaged item: JPEG, PNG, WebP or HEIC, at most %(mb)s MB."
        ) % {"mb": formats.number_format(round(settings.TSUNAGU_FEEDBACK_PHOTO_MAX_BYTES / 1024 / 1024, 1))}

    def _clean_fields(self):
        # Japanese phone keyboards type a full-width ＠ (and letters): the address is the same (NFKC).
        if self.is_bound and "email" in self.data:
            self.data = self.data.copy()
            self.data["email"] = unicodedata.normalize("NFKC", self.data.get("email") or "").strip()
        super()._clean_fields()

    def clean_phone(self) -> str:
        return normalize_phone(self.cleaned_data.get("phone", ""))

    def clean_photo(self):
        photo = self.cleaned_data.get("photo")
        if photo:
            from .services.photos import photo_check

            try:
                photo_check(photo)
            except ValidationError as exc:
                raise ValidationError(exc.message_dict["photo"]) from exc
        return photo

    website = forms.CharField(
        label=_("Leave this field empty"),
        required=False,
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )

    @property
    def is_bot(self) -> bool:
        return bool((self.data.get("website") or "").strip())


class SurveyAnswerForm(forms.Form):
    score = forms.TypedChoiceField(label=_("Your score"), coerce=int, widget=forms.RadioSelect)
    comment = forms.CharField(
        label=_("Anything you would like to add? (optional)"),
        required=False,
        max_length=COMMENT_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
        validators=[_no_nul],
    )

    def __init__(self, *args, survey: Survey, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["score"].choices = [(n, str(n)) for n in survey.scale]


# --- Staff pages ----------------------------------------------------------------------------------


class QueueFilterForm(forms.Form):
    """The queue's query string, validated: only these keys and values reach the queryset."""

    queue = forms.ChoiceField(required=False, choices=list(QUEUES.items()), label=_("Queue"))
    status = forms.ChoiceField(required=False, choices=[("", _("Any status")), *Status.choices], label=_("Status"))
    priority = forms.ChoiceField(
        required=False, choices=[("", _("Any priority")), *Priority.choices], label=_("Priority")
    )
    kind = forms.ChoiceField(required=False, choices=[("", _("Any kind")), *Ticket.Kind.choices], label=_("Kind"))
    sort = forms.ChoiceField(
        required=False, choices=[(k, o.label) for k, o in TICKET_ORDERINGS.items()], label=_("Sort")
    )
    q = forms.CharField(required=False, max_length=100, label=_("Search"), validators=[_no_nul])
    customer = forms.IntegerField(required=False, min_value=1, max_value=PK_MAX, widget=forms.HiddenInput)

    def select_fields(self) -> list:
        return [self[name] for name in ("status", "priority", "kind", "sort")]

    def customer_id(self) -> int | None:
        return self.cleaned_data.get("customer") if self.is_valid() else None

    def value(self, name: str) -> str:
        if not self.is_valid():
            return {"queue": DEFAULT_QUEUE, "sort": DEFAULT_TICKET_ORDERING}.get(name, "")
        default = {"queue": DEFAULT_QUEUE, "sort": ""}.get(name, "")
        return self.cleaned_data.get(name) or default

    def sort_key(self) -> str:
        """The chosen sort, else the most urgent deadline first for work still to do, and newest first for
        finished tickets and for "everything" (where most tickets have no deadline to sort on)."""
        sort = self.value("sort")
        if sort:
            return sort
        status = self.value("status")
        if status in (Status.RESOLVED, Status.CLOSED) or (not status and self.value("queue") == "all"):
            return "-created"
        return DEFAULT_TICKET_ORDERING


class TicketCreateForm(forms.Form):
    customer = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=PK_MAX)
    subject = forms.CharField(label=_("Subject"), max_length=SUBJECT_MAX, validators=[_no_nul])
    body = forms.CharField(
        label=_("What the customer said"),
        required=False,
        max_length=BODY_MAX,
        widget=forms.Textarea(attrs={"rows": 5}),
        validators=[_no_nul],
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=Ticket.Kind.choices, initial=Ticket.Kind.QUESTION)
    channel = forms.ChoiceField(label=_("Channel"), choices=Ticket.Channel.choices, initial=Ticket.Channel.PHONE)
    priority = forms.ChoiceField(label=_("Priority"), choices=Priority.choices, initial=Priority.NORMAL)
    assignee = StaffChoiceField(queryset=staff_queryset(), required=False, label=_("Assignee"))
    tags = forms.CharField(
        label=_("Tags"), required=False, max_length=300, help_text=_("Separated by commas."), validators=[_no_nul]
    )
    order_reference = forms.CharField(
        label=_("Order reference"), required=False, max_length=ORDER_REFERENCE_MAX, validators=[_no_nul]
    )
    touchpoint = forms.IntegerField(
        label=_("Concerns touchpoint"), required=False, min_value=1, max_value=PK_MAX, widget=forms.Select
    )

    def clean_tags(self) -> list[str]:
        return parse_tags(self.cleaned_data.get("tags", ""))


class TicketUpdateForm(forms.Form):
    subject = forms.CharField(label=_("Subject"), max_length=SUBJECT_MAX, validators=[_no_nul])
    kind = forms.ChoiceField(label=_("Kind"), choices=Ticket.Kind.choices)
    priority = forms.ChoiceField(label=_("Priority"), choices=Priority.choices)
    tags = forms.CharField(label=_("Tags"), required=False, max_length=300, validators=[_no_nul])
    order_reference = forms.CharField(
        label=_("Order reference"), required=False, max_length=ORDER_REFERENCE_MAX, validators=[_no_nul]
    )

    def clean_tags(self) -> list[str]:
        return parse_tags(self.cleaned_data.get("tags", ""))


class ReplyForm(forms.Form):
    # Drawn when the form is shown: the same reply sent twice (a double click) is written and mailed once.
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64, required=False)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("idempotency_key", uuid.uuid4().hex)
        super().__init__(*args, **kwargs)

    body = forms.CharField(
        label=_("Message"), max_length=BODY_MAX, widget=forms.Textarea(attrs={"rows": 6}), validators=[_no_nul]
    )
    visibility = forms.ChoiceField(
        label=_("Send as"),
        choices=[("reply", _("Reply to the customer")), ("note", _("Internal note"))],
        initial="reply",
        widget=forms.RadioSelect,
    )
    status = forms.ChoiceField(
        label=_("Then set the status to"), required=False, choices=[("", _("Keep as it is")), *Status.choices]
    )


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=Status.choices)


class AssignForm(forms.Form):
    assignee = StaffChoiceField(queryset=staff_queryset(), required=False, label=_("Assignee"))


class BulkForm(forms.Form):
    ids = forms.TypedMultipleChoiceField(coerce=int, choices=[], required=True)
    action = forms.ChoiceField(choices=[("assign", _("Assign")), ("close", _("Close"))])
    assignee = StaffChoiceField(queryset=staff_queryset(), required=False, label=_("Assignee"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Any id may be sent; the service skips unknown and closed tickets and caps the number.
        raw = self.data.getlist("ids") if hasattr(self.data, "getlist") else self.data.get("ids", [])
        self.fields["ids"].choices = [(v, v) for v in raw if str(v).isdigit() and len(str(v)) < 19]


class CannedResponseForm(forms.ModelForm):
    class Meta:
        model = CannedResponse
        fields = ["title", "body", "body_en", "is_active"]
        widgets = {"body": forms.Textarea(attrs={"rows": 8}), "body_en": forms.Textarea(attrs={"rows": 8})}


class FiguresForm(forms.Form):
    days = forms.TypedChoiceField(
        label=_("Period"),
        coerce=int,
        required=False,
        choices=[(7, _("Last 7 days")), (30, _("Last 30 days")), (90, _("Last 90 days")), (365, _("Last year"))],
    )

    def period_days(self) -> int:
        return (self.cleaned_data.get("days") if self.is_valid() else None) or 30
