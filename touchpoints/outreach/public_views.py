"""Pages customers reach from their mail, outside the staff login: unsubscribing.

A GET never changes anything (mail scanners and link previews fetch every link): the page asks for
confirmation, and only its POST, or the RFC 8058 one-click POST a mail client sends to the
List-Unsubscribe address, withdraws consent. The links are signed per customer and do not expire.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils import translation
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from customers.models import Customer

from .outbox import customer_id_from_token, customer_unsubscribe
from .preferences import preferences_url


def _customer(token: str) -> Customer | None:
    customer_id = customer_id_from_token(token)
    if customer_id is None:
        return None
    # A record merged away still answers for the person, through the record it went into.
    return (
        Customer.objects.surviving(customer_id)
        .only("pk", "marketing_consent", "consent_source", "preferred_language")
        .first()
    )


@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    customer = _customer(token)
    if customer is None:
        return render(request, "outreach/unsubscribe.html", {"invalid": True}, status=404)
    # In the language the customer reads their mail in, whatever the browser says.
    with translation.override(customer.preferred_language or settings.LANGUAGE_CODE):
        if request.method == "POST":
            customer_unsubscribe(customer=customer, method="page")
            return render(
                request,
                "outreach/unsubscribe.html",
                {"done": True, "preferences_url": preferences_url(customer.pk, came_from="unsubscribe")},
            )
        return render(
            request,
            "outreach/unsubscribe.html",
            {
                "token": token,
                "already": not customer.marketing_consent,
                "preferences_url": preferences_url(customer.pk, came_from="unsubscribe"),
            },
        )


@csrf_exempt  # RFC 8058: the mail client POSTs without a session; the signed token is the authority
@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe_one_click(request: HttpRequest, token: str) -> HttpResponse:
    if request.method == "GET":  # a person who opened the header's link: show the confirmation page
        return redirect("unsubscribe", token=token)
    if request.POST.get("List-Unsubscribe") != "One-Click":
        return HttpResponseBadRequest("Expected List-Unsubscribe=One-Click", content_type="text/plain")
    customer = _customer(token)
    if customer is None:
        return HttpResponse("Unknown link", status=404, content_type="text/plain")
    customer_unsubscribe(customer=customer, method="one-click")
    return HttpResponse("Unsubscribed", content_type="text/plain")
