from __future__ import annotations

import datetime as dt

from django import forms
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .catalogue import TYPE_MENU_CACHE_SECONDS, type_menu_cache_key
from .models import ApiKey, Channel, Direction, Stage, TouchpointType
from .querysets import RECORDED_BY_SOURCES


class TouchpointTypeChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: TouchpointType) -> str:
        return f"{obj.label} ({obj.get_stage_display()})"


class TouchpointLogForm(forms.Form):
    """The quick log on the customer page: a call, a visit, a LINE chat, a purchase."""

    type = TouchpointTypeChoiceField(
        queryset=TouchpointType.objects.active(), label=_("What happened"), empty_label=_("Choose…")
    )
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices, initial=Channel.PHONE)
    direction = forms.ChoiceField(label=_("Direction"), choices=Direction.choices, initial=Direction.INBOUND)
    summary = forms.CharField(
        label=_("Summary"),
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": _("What was said or done?")}),
    )
    amount = forms.DecimalField(
        label=_("Amount (JPY)"),
        required=False,
        min_value=0,
        max_digits=14,
        decimal_places=2,
        help_text=_("For purchases and returns."),
    )

    def type_choices(self) -> list[tuple]:
        """The type menu, from the cache (the catalogue changes rarely; touchpoint_type_save clears it), else
        in one plain query (the field's own choices would count the rows, then read them through a cursor)."""
        field = self.fields["type"]

        def build() -> list[tuple]:
            return [(t.pk, field.label_from_instance(t)) for t in field.queryset]

        menu = cache.get_or_set(type_menu_cache_key(), build, TYPE_MENU_CACHE_SECONDS)
        return [("", field.empty_label), *menu]

    def clean(self):
        cleaned = super().clean()
        touchpoint_type = cleaned.get("type")
        if (
            cleaned.get("amount") is not None
            and touchpoint_type is not None
            and touchpoint_type.kind == TouchpointType.Kind.INTERACTION
        ):
            self.add_error("amount", _("Only purchases and returns carry an amount."))
        return cleaned


class TouchpointFilterForm(forms.Form):
    """The list's query string, validated: only these keys and values reach the queryset."""

    stage = forms.ChoiceField(required=False, choices=[("", _("Any stage")), *Stage.choices], label=_("Stage"))
    type = forms.IntegerField(required=False, min_value=1, max_value=2**31 - 1, label=_("Type"))
    channel = forms.ChoiceField(required=False, choices=[("", _("Any channel")), *Channel.choices], label=_("Channel"))
    start = forms.DateField(required=False, label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))
    recorded_by = forms.CharField(required=False, max_length=20, label=_("Recorded by"))

    def clean_recorded_by(self) -> str:
        value = self.cleaned_data.get("recorded_by", "")
        if value and value not in RECORDED_BY_SOURCES and not (value.isdigit() and len(value) < 10):
            raise ValidationError(_("Unknown value."))
        return value

    def filters(self) -> dict:
        if not self.is_valid():
            return {}
        data = self.cleaned_data
        return {
            "stage": data["stage"],
            "type_id": data["type"],
            "channel": data["channel"],
            "start": data["start"],
            "end": data["end"],
            "recorded_by": data["recorded_by"],
        }

    def is_filtered(self) -> bool:
        return self.is_valid() and any(self.cleaned_data.values())


class FunnelFilterForm(forms.Form):
    start = forms.DateField(required=False, label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))

    DEFAULT_DAYS = 90

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and start > end:
            self.add_error("end", _("The end comes before the start."))
        return cleaned

    def period(self) -> tuple[dt.date, dt.date]:
        """The chosen dates, or the last 90 days up to today."""
        today = timezone.localdate()
        data = self.cleaned_data if self.is_valid() else {}
        end = data.get("end") or today
        start = data.get("start") or end - dt.timedelta(days=self.DEFAULT_DAYS - 1)
        return start, end


class JourneyMoveForm(forms.Form):
    to_stage = forms.ChoiceField(label=_("Move to"), choices=Stage.choices)
    reason = forms.CharField(
        label=_("Reason"), max_length=500, widget=forms.TextInput(attrs={"placeholder": _("Why?")})
    )

    def __init__(self, *args, current: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        if current:
            self.fields["to_stage"].choices = [c for c in Stage.choices if c[0] != current]


class TouchpointTypeForm(forms.ModelForm):
    class Meta:
        model = TouchpointType
        fields = ["slug", "name", "stage", "kind", "description", "position", "is_active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["slug"].disabled = True
            self.fields["slug"].help_text = _("The slug cannot change: the API and imports refer to it.")

    def validate_unique(self) -> None:
        # Checked by the service, with a clear message.
        pass


class ApiKeyForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ["name"]
        help_texts = {"name": _("Which system uses this key, e.g. “Online shop”.")}
