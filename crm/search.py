"""The search box in the header: customers by name, kana, email or phone, and tickets — a reference
(``T-000123``, ``t123``) goes straight to its ticket, before anything else.

It lives in the project because it reads two apps (customers, feedback) that must not know each other's pages.
The form posts, so what staff typed (a name, a phone number) stays out of URLs, browser history and access logs.
Each part shows only what the reader may see (customers.view_customer, feedback.view_ticket).
"""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from customers.models import Customer
from feedback.models import Ticket
from feedback.references import parse_reference

RESULTS = 20


class GlobalSearchForm(forms.Form):
    q = forms.CharField(label=_("Search"), max_length=100, strip=True)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def global_search(request: HttpRequest) -> HttpResponse:
    form = GlobalSearchForm(request.POST or None)
    context: dict = {"form": form, "customers": [], "tickets": [], "searched": False}
    if request.method == "POST" and form.is_valid():
        q = form.cleaned_data["q"]
        context["searched"] = True
        can_tickets = request.user.has_perm("feedback.view_ticket")
        if can_tickets and (number := parse_reference(q)) is not None and q.strip().upper().startswith("T"):
            ticket = Ticket.objects.filter(pk=number).only("pk").first()
            if ticket is not None:  # the exact reference wins over any subject or customer that mentions it
                return redirect(ticket)
        if request.user.has_perm("customers.view_customer"):
            context["customers"] = list(
                Customer.objects.search(q).only("pk", "family_name", "given_name", "family_name_kana",
                                                "given_name_kana", "email", "phone", "company")
                .order_by("name_sort", "pk")[:RESULTS]
            )  # fmt: skip
        if can_tickets:
            context["tickets"] = list(
                Ticket.objects.search(q)
                .select_related("customer")
                .only("pk", "subject", "subject_key", "subject_params", "status", "created_at",
                      "customer__family_name", "customer__given_name")
                .order_by("-created_at", "-pk")[:RESULTS]
            )  # fmt: skip
    return render(request, "search_results.html", context)
