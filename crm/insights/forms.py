"""The insights pages' forms: the period of the dashboard, its drill-downs and exports, and the cohort end month.

They validate input and nothing else; the figures come from crm/insights/metrics/.
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from touchpoints.forms import day_field

from .metrics import Period

DEFAULT_DAYS = 30
MAX_DAYS = 3 * 365 + 1  # "at most three years", leap day included

PRESETS = [
    ("7", _("Last 7 days")),
    ("30", _("Last 30 days")),
    ("90", _("Last 90 days")),
    ("365", _("Last 365 days")),
    ("this_month", _("This month")),
    ("last_month", _("Last month")),
    ("custom", _("Custom dates")),
]


class PeriodForm(forms.Form):
    """A preset range or custom dates (both inclusive, business-time-zone days). Bookmarkable: read from GET.

    Custom dates are used when ``range`` is "custom", or when ``start``/``end`` come without a preset (the links
    from the dashboard to its drill-downs and exports carry only the dates).
    """

    range = forms.ChoiceField(label=_("Period"), choices=PRESETS, required=False)
    start = day_field(_("From"))
    end = day_field(_("To"))

    def __init__(self, *args, today: dt.date | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today or timezone.localdate()

    def _preset(self, key: str) -> Period:
        return Period.preset(key, today=self.today)

    def clean(self):
        cleaned = super().clean()
        preset = cleaned.get("range") or ""
        start, end = cleaned.get("start"), cleaned.get("end")
        if self.errors:
            return cleaned
        if preset and preset != "custom":
            cleaned["period"] = self._preset(preset)
            return cleaned
        if not (start or end) and preset != "custom":
            cleaned["period"] = self._preset(str(DEFAULT_DAYS))
            return cleaned
        if not start:
            self.add_error("start", _("Choose the first day."))
        if not end:
            self.add_error("end", _("Choose the last day."))
        if not (start and end):
            return cleaned
        if end < start:
            self.add_error("end", _("The end comes before the start."))
        elif end > self.today:
            self.add_error("end", _("The period cannot end in the future."))
        elif (end - start).days + 1 > MAX_DAYS:
            self.add_error("start", _("Choose a period of at most three years."))
        else:
            cleaned["period"] = Period(start=start, end=end)
        return cleaned

    def period(self) -> Period:
        """The chosen period; the last 30 days when nothing (or nothing valid) was chosen."""
        if self.is_bound and self.is_valid():
            return self.cleaned_data["period"]
        return self._preset(str(DEFAULT_DAYS))

    def selected(self) -> str:
        """The preset to show as chosen in the menu."""
        if self.is_bound and self.is_valid():
            chosen = self.cleaned_data.get("range") or ""
            return chosen or ("custom" if self.cleaned_data.get("start") else str(DEFAULT_DAYS))
        return "custom" if self.is_bound and self.data.get("range") == "custom" else str(DEFAULT_DAYS)


class CohortForm(forms.Form):
    """The last cohort month shown (the page shows the twelve months up to it)."""

    end = forms.DateField(
        label=_("Up to"),
        required=False,
        input_formats=["%Y-%m"],
        widget=forms.DateInput(attrs={"type": "month"}, format="%Y-%m"),
    )

    def __init__(self, *args, today: dt.date | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today or timezone.localdate()

    def clean_end(self):
        end = self.cleaned_data.get("end")
        if end and end.replace(day=1) > self.today.replace(day=1):
            raise forms.ValidationError(_("Choose a month that has begun."))
        if end and end.year < 2000:
            raise forms.ValidationError(_("Choose a month from 2000 on."))
        return end

    def end_month(self) -> dt.date:
        """The first day of the chosen month (this month when none, or none valid, was chosen)."""
        end = self.cleaned_data.get("end") if self.is_bound and self.is_valid() else None
        return (end or self.today).replace(day=1)
