"""The page a customer opens from LINE to link their account (linking.py has the flow); no staff login."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from customers import throttling

from .linking import (
    link_code_check,
    link_code_send,
    link_proof_check,
    link_request_for,
    proof_for,
    proof_throttled,
    proofs,
    throttled,
)
from .login import LoginError, login_configured, login_finish

logger = logging.getLogger(__name__)

TEMPLATE = "outreach/line_link.html"


def _page(request: HttpRequest, context: dict, *, status: int = 200) -> HttpResponse:
    response = render(request, TEMPLATE, context, status=status)
    # The code form's answer redirects to LINE's link dialog: the page's form-action must allow that address.
    response._csp_update = {"form-action": [settings.LINE_ACCESS_HOST]}
    return response


def _first_step(link_token: str, *, forms: dict | None = None, proof_error: str = "") -> dict:
    """The first step's context: the address form, and a form for each other proof registered."""
    forms = forms or {}
    return {
        "link_token": link_token,
        "proofs": [(proof, forms.get(proof.key) or proof.form(prefix=proof.key)) for proof in proofs()],
        "proof_error": proof_error,
    }


def _client(request: HttpRequest) -> str:
    return throttling.client_ip(request)  # behind a proxy, the address it names (TSUNAGU_CLIENT_IP_HEADER)


@never_cache
@require_http_methods(["GET", "POST"])
def link_start(request: HttpRequest) -> HttpResponse:
    link_token = request.GET.get("linkToken") or request.POST.get("linkToken") or ""
    link = link_request_for(link_token)
    if link is None:
        return _page(request, {"invalid": True}, status=400)
    if request.method == "POST":
        if throttled(_client(request)):
            return _page(request, {"throttled": True, "link_token": link.link_token}, status=429)
        link_code_send(request=link, email=request.POST.get("email", "")[:254])
        return _page(request, {"code_step": True, "link_token": link.link_token})
    return _page(request, _first_step(link.link_token))


@never_cache
@require_POST
def link_proof(request: HttpRequest, key: str) -> HttpResponse:
    """Another proof than the mailed code (a member number and birth date): the same answer for every wrong
    part, throttled per client address, per link request and per thing guessed at."""
    proof = proof_for(key)
    link = link_request_for(request.POST.get("linkToken", ""))
    if link is None or proof is None:
        return _page(request, {"invalid": True}, status=400)
    if throttled(_client(request)):
        return _page(request, {"throttled": True, "link_token": link.link_token}, status=429)
    form = proof.form(request.POST, prefix=proof.key)
    if not form.is_valid():
        return _page(request, _first_step(link.link_token, forms={proof.key: form}, proof_error=proof.key), status=400)
    if proof_throttled(request=link, proof=proof, data=form.cleaned_data):
        return _page(request, {"throttled": True, "link_token": link.link_token}, status=429)
    target = link_proof_check(request=link, proof=proof, data=form.cleaned_data)
    if target is None:
        return _page(request, _first_step(link.link_token, forms={proof.key: form}, proof_error=proof.key), status=400)
    return HttpResponseRedirect(target)


@never_cache
@require_POST
def link_code(request: HttpRequest) -> HttpResponse:
    link = link_request_for(request.POST.get("linkToken", ""))
    if link is None:
        return _page(request, {"invalid": True}, status=400)
    if throttled(_client(request)):
        return _page(request, {"throttled": True, "link_token": link.link_token}, status=429)
    target = link_code_check(request=link, code=request.POST.get("code", "")[:20])
    if target is None:
        return render(
            request, TEMPLATE, {"code_step": True, "wrong_code": True, "link_token": link.link_token}, status=400
        )
    return HttpResponseRedirect(target)


def _back(request: HttpRequest, next_url: str) -> HttpResponse:
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = "/"
    return HttpResponseRedirect(next_url)


@never_cache
@require_http_methods(["GET"])
def login_callback(request: HttpRequest) -> HttpResponse:
    """LINE Login's redirect back (login.py): links the LINE account to the customer who started it here."""
    if not login_configured():
        raise Http404
    try:
        result = login_finish(
            request,
            state=request.GET.get("state", "")[:100],
            code=request.GET.get("code", ""),
            error=request.GET.get("error", "")[:100],
        )
    except LoginError as exc:
        logger.warning("LINE: login refused: %s", exc)
        messages.error(request, _("LINE was not linked. Please try again."))
        return _back(request, exc.next_url or "/")
    messages.success(request, _("Your LINE account is linked."))
    return _back(request, result.next_url)
