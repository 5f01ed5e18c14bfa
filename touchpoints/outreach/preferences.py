"""The preference centre: the customer's own page, reached from the unsubscribe page and from the member card,
where they choose per channel (email, LINE, SMS) and per purpose (news and offers, greetings, surveys) what they
receive, their language and, if we lack it, their birthday; or opt out of everything in one press.

The link is signed per customer and expires (``TSUNAGU_PREFERENCES_LINK_DAYS``): the pages that lead here sign a
fresh one each time they are shown. A GET changes nothing (mail scanners fetch links); every change is recorded
with when and how (``customers.consent``), and a full opt-out also stops the marketing mail already queued.
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from customers import consent
from customers.models import ContactPreference, Customer

from .outbox import customer_unsubscribe

PREFERENCES_SALT = "touchpoints.outreach.preferences"
FROM_PAGES = {"card": "the member card", "unsubscribe": "the unsubscribe page", "mail": "a mailed link"}


def preferences_token(customer_id: int) -> str:
    return signing.dumps(customer_id, salt=PREFERENCES_SALT)


def preferences_url(customer_id: int, *, came_from: str = "card") -> str:
    """The centre's absolute address for this customer, signed now (valid TSUNAGU_PREFERENCES_LINK_DAYS days)."""
    path = reverse("preferences", args=[preferences_token(customer_id)])
    return f"{settings.TSUNAGU_BASE_URL}{path}?from={came_from}"


def customer_from_token(token: str) -> Customer | None:
    try:
        customer_id = signing.loads(
            token, salt=PREFERENCES_SALT, max_age=settings.TSUNAGU_PREFERENCES_LINK_DAYS * 86400
        )
    except signing.BadSignature:  # expired ones included
        return None
    if not isinstance(customer_id, int):
        return None
    return Customer.objects.surviving(customer_id).first()


class PreferencesForm(forms.Form):
    language = forms.ChoiceField(
        label=gettext_lazy("Language"), choices=Customer.Language.choices, widget=forms.RadioSelect
    )
    birth_date = forms.DateField(
        label=gettext_lazy("Your birthday (for a birthday greeting)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date", "class": "form-control"}),
    )

    def __init__(self, *args, customer: Customer, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.ask_birthday = customer.birth_date is None
        if not self.ask_birthday:
            del self.fields["birth_date"]
        for channel, purpose in consent.CELLS:
            self.fields[f"{channel}_{purpose}"] = forms.BooleanField(required=False)

    def clean_birth_date(self) -> dt.date | None:
        day = self.cleaned_data.get("birth_date")
        if day is not None and not dt.date(1900, 1, 1) <= day <= timezone.localdate():
            raise forms.ValidationError(_("Enter a date between 1900 and today."))
        return day

    def choices(self) -> dict[tuple[str, str], bool]:
        return {(c, p): bool(self.cleaned_data.get(f"{c}_{p}")) for c, p in consent.CELLS}


def _grid(form: PreferencesForm, current: dict[tuple[str, str], bool]) -> list[dict]:
    """Rows (purposes) × columns (channels), for the template; no logic left there."""
    rows = []
    for purpose, purpose_label in ContactPreference.Purpose.choices:
        cells = []
        for channel, channel_label in ContactPreference.Channel.choices:
            name = f"{channel}_{purpose}"
            checked = form.data.get(name) == "on" if form.is_bound else current[(channel, purpose)]
            cells.append({"name": name, "checked": checked, "label": f"{purpose_label}: {channel_label}"})
        rows.append({"label": purpose_label, "cells": cells})
    return rows


@never_cache
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest, token: str) -> HttpResponse:
    customer = customer_from_token(token)
    if customer is None:
        response = render(request, "outreach/preferences.html", {"invalid": True}, status=404)
        response["X-Robots-Tag"] = "noindex, nofollow"
        return response
    came_from = request.GET.get("from", "mail")
    evidence = "Preference centre, from " + FROM_PAGES.get(came_from, FROM_PAGES["mail"])
    language = request.POST.get("language") if request.method == "POST" else customer.preferred_language
    if language not in Customer.Language.values:
        language = customer.preferred_language
    with translation.override(language or settings.LANGUAGE_CODE):
        form = PreferencesForm(
            request.POST or None, customer=customer, initial={"language": customer.preferred_language}
        )
        done = ""
        if request.method == "POST" and "opt_out" in request.POST:
            consent.preferences_opt_out(customer=customer, evidence=evidence)
            customer_unsubscribe(customer=customer, method="preference centre")
            return redirect(reverse("preferences", args=[token]) + f"?from={came_from}&done=opt_out")
        if request.method == "POST" and form.is_valid():
            consent.preferences_set(
                customer=customer,
                choices=form.choices(),
                source=ContactPreference.Source.PREFERENCE_CENTRE,
                evidence=evidence,
            )
            consent.profile_set(
                customer=customer,
                language=form.cleaned_data["language"],
                birth_date=form.cleaned_data.get("birth_date"),
            )
            return redirect(reverse("preferences", args=[token]) + f"?from={came_from}&done=saved")
        if request.GET.get("done") in ("saved", "opt_out"):
            done = request.GET["done"]
        current = consent.preferences_of(customer)
        response = render(
            request,
            "outreach/preferences.html",
            {
                "form": form,
                "grid": _grid(form, current),
                "token": token,
                "came_from": came_from,
                "done": done,
                "customer": customer,
            },  # fmt: skip
            status=400 if form.is_bound and not form.is_valid() else 200,
        )
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response
