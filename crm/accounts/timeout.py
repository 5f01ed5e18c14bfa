"""Session timeouts: a staff session ends after TSUNAGU_SESSION_IDLE_MINUTES without a request, and in any case
TSUNAGU_SESSION_MAX_HOURS after its login. The next request lands on the login page saying why.

A form sent after the session ended is not lost: its fields (never passwords, codes or files) wait in the new
session, and the page the form was on fills them in again after the login (static/js/app.js), once.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

STARTED = "tsunagu_session_started"
SEEN = "tsunagu_session_seen"
RESUME = "tsunagu_resume_form"
# The last-seen time is written at most this often: not a session write on every page.
SEEN_GRANULARITY = 60
NOT_KEPT = ("csrfmiddlewaretoken", "password", "token", "old_password", "new_password1", "new_password2")


def session_stamp(sender, request: HttpRequest, user, **kwargs) -> None:
    """On login (user_logged_in): the session's start, for the absolute lifetime."""
    now = time.time()
    request.session[STARTED] = now
    request.session[SEEN] = now


class SessionTimeoutMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            expired = self._check(request)
            if expired is not None:
                return expired
        return self.get_response(request)

    def _check(self, request: HttpRequest) -> HttpResponse | None:
        session, now = request.session, time.time()
        started, seen = session.get(STARTED), session.get(SEEN)
        if started is None or seen is None:  # a session from before these stamps: start counting now
            session[STARTED] = started or now
            session[SEEN] = now
            return None
        if now - started > settings.TSUNAGU_SESSION_MAX_HOURS * 3600:
            return _expire(
                request,
                _("Your session ended after %(hours)d hours. Log in again to continue.")
                % {"hours": settings.TSUNAGU_SESSION_MAX_HOURS},
            )
        if now - seen > settings.TSUNAGU_SESSION_IDLE_MINUTES * 60:
            return _expire(
                request,
                _("Your session ended after %(minutes)d minutes without activity. Log in again to continue.")
                % {"minutes": settings.TSUNAGU_SESSION_IDLE_MINUTES},
            )
        if now - seen > SEEN_GRANULARITY:
            session[SEEN] = now
        return None


def _form_page(request: HttpRequest) -> str:
    """The page a form was sent from (its Referer, on this site), else the URL itself."""
    referer = request.headers.get("Referer", "")
    if referer and url_has_allowed_host_and_scheme(referer, {request.get_host()}, request.is_secure()):
        parts = urlsplit(referer)
        return parts.path + (f"?{parts.query}" if parts.query else "")
    return request.get_full_path()


def _expire(request: HttpRequest, message: str) -> HttpResponse:
    htmx = bool(request.headers.get("HX-Request"))
    resume = None
    if request.method == "POST":
        page = _form_page(request)
        fields = {key: request.POST.getlist(key) for key in request.POST if key not in NOT_KEPT}
        if fields:
            resume = {"path": urlsplit(page).path, "fields": fields}
        next_url = page
    elif htmx:
        next_url = _form_page(request)
    else:
        next_url = request.get_full_path()
    logout(request)
    if resume is not None:
        request.session[RESUME] = resume
        message = f"{message} {_('What you entered will be filled in again.')}"
    messages.warning(request, message)
    response = redirect_to_login(next_url)
    if htmx:  # htmx would swap the login page into a fragment: the browser goes there instead
        hx = HttpResponse(status=204)
        hx["HX-Redirect"] = response["Location"]
        return hx
    return response


def resume_form(request: HttpRequest) -> dict:
    """Context processor: the fields of a form sent after the session ended, for the page they came from (once)."""
    session = getattr(request, "session", None)
    if session is None or RESUME not in session or request.method != "GET" or request.headers.get("HX-Request"):
        return {}
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    resume = session[RESUME]
    if resume.get("path") != request.path:
        return {}
    del session[RESUME]
    return {"resume_form": resume["fields"]}
