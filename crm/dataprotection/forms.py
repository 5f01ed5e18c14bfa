from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import DataRequest


class DataRequestForm(forms.Form):
    received_via = forms.ChoiceField(
        label=_("Received via"), choices=[c for c in DataRequest.Via.choices if c[0] != DataRequest.Via.POLICY]
    )
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("How the requester's identity was checked, and anything else to remember."),
    )


class ErasureConfirmForm(forms.Form):
    confirmation = forms.CharField(
        label=_("Type the customer's number to confirm"),
        max_length=30,
        help_text=_("Erasure cannot be undone."),
    )
