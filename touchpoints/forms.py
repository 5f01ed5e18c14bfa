from __future__ import annotations

import datetime as dt

from django import forms
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .catalogue import TYPE_MENU_CACHE_SECONDS, type_menu_cache_key
from .models import ApiKey, ApiScope, Channel, Direction, Stage, TouchpointType
from .querysets import API_KEY_PREFIX, RECORDED_BY_SOURCES

FIRST_DAY, LAST_DAY = dt.date(1900, 1, 1), dt.date(2999, 12, 31)


def day_field(label) -> forms.DateField:
    """An optional day of a filter, between 1900 and 2999: the periods are read up to the day after their end, which
    31 December 9999 has not (it was a server error)."""
    return forms.DateField(
        required=False,
        label=label,
        validators=[MinValueValidator(FIRST_DAY), MaxValueValidator(LAST_DAY)],
        widget=forms.DateInput(attrs={"type": "date", "min": FIRST_DAY.isoformat(), "max": LAST_DAY.isoformat()}),
    )


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
    occurred_at = forms.DateTimeField(
        label=_("When"),
        required=False,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("Empty for now; an earlier time for a call logged afterwards."),
    )
    amount = forms.DecimalField(
        label=_("Amount (yen)"),
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

    def clean_occurred_at(self):
        when = self.cleaned_data.get("occurred_at")
        if when is not None and when > timezone.now() + dt.timedelta(minutes=5):
            raise ValidationError(_("A touchpoint cannot happen in the future."))
        return when

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
    start = day_field(_("From"))
    end = day_field(_("To"))
    recorded_by = forms.CharField(required=False, max_length=20, label=_("Recorded by"))

    def clean_recorded_by(self) -> str:
        value = self.cleaned_data.get("recorded_by", "")
        key_id = value.removeprefix(API_KEY_PREFIX) if value.startswith(API_KEY_PREFIX) else ""
        if value and value not in RECORDED_BY_SOURCES and not any(v.isdigit() and len(v) < 10 for v in (value, key_id)):
            raise ValidationError(_("Unknown value."))
        return value

    def filters(self) -> dict:
        """The filters that were understood: a bad value drops its own filter (and the page says so), not the
        others, which would show every touchpoint."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})  # none when unbound
        return {
            "stage": data.get("stage", ""),
            "type_id": data.get("type"),
            "channel": data.get("channel", ""),
            "start": data.get("start"),
            "end": data.get("end"),
            "recorded_by": data.get("recorded_by", ""),
        }

    def is_filtered(self) -> bool:
        """Whether to offer "Clear filters": something was filtered, or sent and refused."""
        return any(self.filters().values()) or bool(self.errors)


class FunnelFilterForm(forms.Form):
    start = day_field(_("From"))
    end = day_field(_("To"))

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
    scopes = forms.MultipleChoiceField(
        label=_("Scopes"),
        choices=ApiScope.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Only what the system needs: a key that only records touchpoints needs only “Ingest”."),
    )

    class Meta:
        model = ApiKey
        fields = ["name"]
        help_texts = {"name": _("Which system uses this key, e.g. “Online shop”.")}
