"""The member number and birth date as a proof on LINE's account-link page (touchpoints/outreach/line/linking.py
offers it next to the mailed code; outreach cannot import loyalty, so loyalty registers it in ``ready()``)."""

from __future__ import annotations

from django import forms
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext_lazy as _

from customers.models import Customer

from ..models import Membership

# Compared against when no member has the number, so a wrong number costs what a wrong date costs.
_NO_DATE = "0000-00-00"


class MemberProofForm(forms.Form):
    member_number = forms.CharField(
        label=_("Member number"),
        max_length=20,
        widget=forms.TextInput(attrs={"class": "form-control", "inputmode": "numeric", "autocomplete": "off"}),
    )
    birth_date = forms.DateField(
        label=_("Birth date"),
        widget=forms.DateInput(attrs={"type": "date", "class": "form-control"}, format="%Y-%m-%d"),
    )

    def clean_member_number(self) -> str:
        number = "".join(ch for ch in self.cleaned_data["member_number"] if ch.isdigit())
        if not number:
            raise forms.ValidationError(_("Enter the number on your member card."))
        return number


def member_proof_customer(data: dict) -> Customer | None:
    """The customer of an active membership with this number whose birth date is this one; None otherwise."""
    membership = (
        Membership.objects.filter(member_number=data["member_number"], status=Membership.Status.ACTIVE)
        .select_related("customer")
        .first()
    )
    customer = membership.customer if membership is not None else None
    on_file = customer.birth_date.isoformat() if customer is not None and customer.birth_date else _NO_DATE
    given = data["birth_date"].isoformat()
    matches = constant_time_compare(on_file, given)
    return customer if matches and customer is not None else None


def member_proof_subject(data: dict) -> str:
    return data["member_number"]
