"""The till's forms: find a member, record a purchase, redeem a reward, take in a voucher."""

from __future__ import annotations

import re
from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from customers.textfold import fold

KEY_RE = re.compile(r"^[0-9a-f]{32}$")


class _KeyMixin:
    def clean_key(self) -> str:
        key = self.cleaned_data["key"]
        if not KEY_RE.match(key):
            raise forms.ValidationError(_("Reload the page and try again."))
        return key


class TillLookupForm(forms.Form):
    q = forms.CharField(
        label=_("Scan the card or type the member number"),
        max_length=100,
        widget=forms.TextInput(
            attrs={
                "class": "form-control form-control-lg till-input",
                "autocomplete": "off",
                "autocapitalize": "characters",
                "spellcheck": "false",
                "autofocus": True,
            }
        ),
    )

    def clean_q(self) -> str:
        return fold(self.cleaned_data["q"]).strip()


class TillPurchaseForm(_KeyMixin, forms.Form):
    amount = forms.DecimalField(
        label=_("Amount (JPY)"),
        min_value=Decimal("1"),
        max_value=Decimal("99999999"),
        decimal_places=0,
        widget=forms.NumberInput(attrs={"class": "form-control form-control-lg", "inputmode": "numeric"}),
    )
    order_reference = forms.CharField(
        label=_("Order reference"),
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"class": "form-control form-control-lg", "autocomplete": "off"}),
    )
    key = forms.CharField(max_length=32, widget=forms.HiddenInput)


class TillRedeemForm(_KeyMixin, forms.Form):
    reward = forms.IntegerField(min_value=1)
    key = forms.CharField(max_length=32, widget=forms.HiddenInput)


class VoucherForm(forms.Form):
    code = forms.CharField(
        label=_("Voucher code"),
        max_length=30,
        widget=forms.TextInput(
            attrs={"class": "form-control form-control-lg", "autocomplete": "off", "autocapitalize": "characters"}
        ),
    )
