"""The public feedback form: anyone may open it."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_GET, require_http_methods

from customers import throttling
from customers.service_errors import apply_service_errors

from .. import services
from ..forms import PublicFeedbackForm
from ..models import Ticket


@csrf_protect
@require_http_methods(["GET", "POST"])
def feedback_form(request: HttpRequest) -> HttpResponse:
    """Anyone may write to us. CSRF, a honeypot and a rate limit per address keep robots out; a person over
    the limit is told when to come back and sees what they typed, so nothing is lost."""
    form = PublicFeedbackForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        rate = settings.TSUNAGU_FEEDBACK_RATE_LIMIT
        ident = throttling.client_ip(request)
        wait = throttling.retry_after(scope="feedback-form", ident=ident, rate=rate)
        if wait:
            minutes = max(1, (wait + 59) // 60)
            form.is_valid()  # show what they typed, with any other mistakes
            form.add_error(
                None,
                _(
                    "We received several messages from your address in a short time. Please try again in "
                    "%(minutes)d minute(s): your message is still here."
                )
                % {"minutes": minutes},
            )
            status = 429
        elif form.is_valid():
            throttling.hit(scope="feedback-form", ident=ident, rate=rate)
            if form.is_bot:
                # Say thank you and do nothing: a bot learns nothing from the answer.
                return redirect("feedback:thanks")
            data = form.cleaned_data
            try:
                # Held until the address is confirmed: anyone may type anyone's email.
                services.feedback_submit_pending(
                    name=data["name"],
                    email=data["email"],
                    kind=data["kind"],
                    message=data["message"],
                    language=translation.get_language() or "ja",
                    order_reference=data["order_reference"],
                    phone=data["phone"],
                    photo=data["photo"] or None,
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                return redirect(f"{reverse('feedback:thanks')}?{urlencode({'pending': 1})}")
        else:
            status = 400
    response = render(request, "feedback/public_form.html", {"form": form}, status=status)
    if status == 429:
        response["Retry-After"] = str(throttling.retry_after(scope="feedback-form", ident=ident, rate=rate))
    return response


@require_GET
def feedback_thanks(request: HttpRequest) -> HttpResponse:
    ticket_id = services.ticket_from_thanks_token(request.GET.get("r", ""))
    reference = Ticket(pk=ticket_id).reference if ticket_id else ""
    pending = not reference and request.GET.get("pending") == "1"
    return render(request, "feedback/public_thanks.html", {"reference": reference, "pending": pending})


@csrf_protect
@require_http_methods(["GET", "POST"])
def feedback_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """The link mailed to the sender. GET only shows a button (mail scanners follow links); the POST opens
    the ticket, once."""
    try:
        if request.method == "POST":
            ticket = services.feedback_confirm(token=token)
            return redirect(f"{reverse('feedback:thanks')}?{urlencode({'r': services.thanks_token(ticket)})}")
        services.pending_from_token(token)
    except services.ConfirmError as exc:
        return render(request, "feedback/public_confirm.html", {"error": exc.message}, status=400)
    return render(request, "feedback/public_confirm.html", {"error": ""})
