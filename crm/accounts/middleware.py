"""What a logged-in session must satisfy on every page: two-factor enrolment where the role requires it, and the
idle and absolute session timeouts."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from .login import VERIFIED
from .two_factor import two_factor_enrolled, two_factor_required

# Set on a session whose user's role needs no two-factor authentication: checked once a login, not on every page.
NOT_REQUIRED = "tsunagu_2fa_not_required"


def _exempt(request: HttpRequest) -> bool:
    """Pages a user who must enrol can still reach: enrolment itself, logging out, the language switch, the API
    (keys, not sessions) and the health check."""
    match = getattr(request, "resolver_match", None)
    name = match.view_name if match else ""
    return name in {
        "accounts:two_factor_enrol",
        "logout",
        "login",
        "login_verify",
        "set_language",
        "healthz",
    } or request.path.startswith(("/api/", "/static/"))


class TwoFactorRequiredMiddleware:
    """A user whose role must use two-factor authentication (TSUNAGU_REQUIRE_2FA_FOR) and has not enrolled reaches
    nothing but the enrolment page. One whose session never passed the code (logged in before the rule) logs in
    again."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs) -> HttpResponse | None:
        if not settings.TSUNAGU_REQUIRE_2FA_FOR or not request.user.is_authenticated:
            return None
        session = request.session
        if session.get(VERIFIED) or session.get(NOT_REQUIRED) or _exempt(request):
            return None
        if not two_factor_required(request.user):
            session[NOT_REQUIRED] = True
            return None
        if two_factor_enrolled(request.user):
            logout(request)
            messages.info(request, _("Please log in again with your two-factor code."))
            return redirect_to_login(request.get_full_path())
        messages.warning(request, _("Your role must use two-factor authentication: set it up to continue."))
        return _redirect(request, reverse("accounts:two_factor_enrol"))


def _redirect(request: HttpRequest, url: str) -> HttpResponse:
    if request.headers.get("HX-Request"):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)
