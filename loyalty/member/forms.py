"""The member pages' forms: asking for a code, entering it, redeeming a reward."""

from __future__ import annotations

import re

from django import forms
from django.utils.translation import gettext_lazy as _

KEY_RE = re.compile(r"^[0-9a-f]{32}$")


class EmailForm(forms.Form):
    email = forms.EmailField(
        label=_("Your email address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "class": "form-control form-control-lg"}),
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("The code from the mail"),
        max_length=12,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "class": "form-control form-control-lg text-center",
            }
        ),
    )


class CardRedeemForm(forms.Form):
    """One tap on a reward's button; the page's key makes a double tap spend once."""

    reward = forms.IntegerField(min_value=1)
    key = forms.CharField(max_length=32)

    def clean_key(self) -> str:
        key = self.cleaned_data["key"]
        if not KEY_RE.match(key):
            raise forms.ValidationError(_("Reload the page and try again."))
        return key
