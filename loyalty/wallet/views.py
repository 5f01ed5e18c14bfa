"""The wallet buttons of the member card (download the Apple pass, go to Google's save page) and Apple's pass web
service (``webServiceURL`` of the pass: devices register, ask what changed, fetch the new pass, send logs).
Apple's calls carry the pass's token ("Authorization: ApplePass …"), not a session or a CSRF token."""

from __future__ import annotations

import json
import logging

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.utils.http import http_date, parse_http_date_safe
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from customers import throttling

from ..member.views import card_required
from . import apple
from .config import apple_config, google_config
from .services import (
    apple_device_register,
    apple_device_unregister,
    apple_pass_authorised,
    apple_pass_file,
    apple_serials_updated_since,
    google_save_link,
    wallet_pass_for,
)

logger = logging.getLogger(__name__)

LOG_RATE = "30/minute"
MAX_BODY = 16 * 1024


def _pkpass_response(wallet_pass) -> HttpResponse:
    response = HttpResponse(apple_pass_file(wallet_pass), content_type=apple.CONTENT_TYPE)
    response["Content-Disposition"] = 'attachment; filename="card.pkpass"'
    response["Last-Modified"] = http_date(wallet_pass.changed_at.timestamp())
    response["Cache-Control"] = "no-store"
    return response


# --- The card's buttons ---------------------------------------------------------------------------


@card_required
@require_GET
def card_apple_pass(request: HttpRequest, card, membership) -> HttpResponse:
    if apple_config() is None:
        raise Http404
    return _pkpass_response(wallet_pass_for(membership))


@card_required
@require_GET
def card_google_pass(request: HttpRequest, card, membership) -> HttpResponse:
    if google_config() is None:
        raise Http404
    return HttpResponseRedirect(google_save_link(membership=membership))


# --- Apple's pass web service ----------------------------------------------------------------------


def _pass_type_checked(pass_type: str) -> None:
    config = apple_config()
    if config is None or pass_type != config.pass_type_id:
        raise Http404


def root(request: HttpRequest) -> HttpResponse:
    """The webServiceURL itself (Apple only calls the addresses below it)."""
    raise Http404


@csrf_exempt
@require_http_methods(["POST", "DELETE"])
def registration(request: HttpRequest, device: str, pass_type: str, serial: str) -> HttpResponse:
    """POST: register the device for the pass (201 new, 200 already); DELETE: unregister it."""
    _pass_type_checked(pass_type)
    wallet_pass = apple_pass_authorised(serial_number=serial, authorization=request.headers.get("Authorization", ""))
    if wallet_pass is None:
        return HttpResponse(status=401)
    if request.method == "DELETE":
        apple_device_unregister(wallet_pass=wallet_pass, device_library_id=device)
        return HttpResponse(status=200)
    try:
        body = json.loads(request.body[:MAX_BODY] or b"{}")
        push_token = body["pushToken"] if isinstance(body, dict) else None
    except (ValueError, KeyError):
        push_token = None
    if not isinstance(push_token, str) or not push_token.strip():
        return HttpResponse(status=400)
    created = apple_device_register(wallet_pass=wallet_pass, device_library_id=device, push_token=push_token.strip())
    return HttpResponse(status=201 if created else 200)


@require_GET
def serials(request: HttpRequest, device: str, pass_type: str) -> HttpResponse:
    """The serial numbers of the device's passes changed since ``passesUpdatedSince`` (204: none)."""
    _pass_type_checked(pass_type)
    found, tag = apple_serials_updated_since(
        device_library_id=device, since=request.GET.get("passesUpdatedSince", "")[:32]
    )
    if not found:
        return HttpResponse(status=204)
    return JsonResponse({"serialNumbers": found, "lastUpdated": tag})


@require_GET
def latest_pass(request: HttpRequest, pass_type: str, serial: str) -> HttpResponse:
    """The pass as it is now; 304 when it has not changed since If-Modified-Since."""
    _pass_type_checked(pass_type)
    wallet_pass = apple_pass_authorised(serial_number=serial, authorization=request.headers.get("Authorization", ""))
    if wallet_pass is None:
        return HttpResponse(status=401)
    since = parse_http_date_safe(request.headers.get("If-Modified-Since", ""))
    if since is not None and int(wallet_pass.changed_at.timestamp()) <= since:
        return HttpResponse(status=304)
    return _pkpass_response(wallet_pass)


@csrf_exempt
@require_POST
def device_log(request: HttpRequest) -> HttpResponse:
    """Errors a device met with the web service, for the operators (bounded, throttled per address)."""
    ip = throttling.client_ip(request)
    if throttling.retry_after(scope="wallet-log", ident=ip, rate=LOG_RATE):
        return HttpResponse(status=429)
    throttling.hit(scope="wallet-log", ident=ip, rate=LOG_RATE)
    try:
        logs = json.loads(request.body[:MAX_BODY]).get("logs", [])
    except (ValueError, AttributeError):
        return HttpResponse(status=400)
    for line in logs[:20] if isinstance(logs, list) else []:
        logger.warning("apple wallet device log: %s", str(line)[:300])
    return HttpResponse(status=200)
