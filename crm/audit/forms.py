from __future__ import annotations

import datetime as dt

from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.models import Customer
from loyalty.models import Membership

MAX_CUSTOMERS = 200


class BreachReportForm(forms.Form):
    """Sent by POST: the customers' emails stay out of the URL (and so out of the access logs)."""

    customers = forms.CharField(
        label=_("Customers"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("One a line: a customer ID, a member number or an email address."),
    )
    start = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To (inclusive)"), widget=forms.DateInput(attrs={"type": "date"}))

    def clean_customers(self) -> list[Customer]:
        terms = [line.strip() for line in self.cleaned_data["customers"].splitlines() if line.strip()]
        if len(terms) > MAX_CUSTOMERS:
            raise forms.ValidationError(_("At most %(max)s customers at a time.") % {"max": MAX_CUSTOMERS})
        ids = [int(t) for t in terms if t.isdigit() and len(t) < 10]
        emails = [t for t in terms if "@" in t]
        numbers = [t for t in terms if not t.isdigit() and "@" not in t]
        query = Q(pk__in=ids)
        for email in emails:
            query |= Q(email__iexact=email)
        if numbers or ids:
            member_of = Membership.objects.filter(member_number__in=[*numbers, *map(str, ids)]).values("customer_id")
            query |= Q(pk__in=member_of)
        found = list(Customer.objects.filter(query).order_by("pk")[: MAX_CUSTOMERS + 1])
        if not found:
            raise forms.ValidationError(_("No customer matches these lines."))
        return found

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and end < start:
            self.add_error("end", _("The end comes before the start."))
        return cleaned

    def period(self) -> tuple[dt.datetime, dt.datetime]:
        """The dates in the business time zone, as instants: from the start of the first day to the end of the last."""
        zone = timezone.get_current_timezone()
        start = dt.datetime.combine(self.cleaned_data["start"], dt.time.min, tzinfo=zone)
        end = dt.datetime.combine(self.cleaned_data["end"] + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
        return start, end
