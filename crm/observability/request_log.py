"""One log line a request: its id, the user's id, method, route, status and time; no personal data.

The request id comes from the proxy's ``X-Request-ID`` when it is a plain token (nginx's ``$request_id``), or
is made here; it is returned in the response and carried by every log line written while the request runs.
Only the path is logged, never the query string (a search for a customer's name or phone number lives there).
"""

from __future__ import annotations

import contextvars
import logging
import re
import time
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.functional import empty

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
user_id_var: contextvars.ContextVar[int | None] = contextvars.ContextVar("user_id", default=None)

_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")
log = logging.getLogger("tsunagu.request")


def _user_id(request: HttpRequest) -> int | None:
    # Read without loading anything the view did not load: a lazy user that was never touched stays unread.
    user = request.__dict__.get("user")
    if user is None:
        return None
    wrapped = getattr(user, "_wrapped", user)
    if wrapped is None or wrapped is empty:  # a SimpleLazyObject nobody evaluated
        return None
    return getattr(wrapped, "pk", None)


class RequestLogMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        given = request.headers.get("X-Request-ID", "")
        request_id = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500
        try:
            response = self.get_response(request)
            status = response.status_code
            response["X-Request-ID"] = request_id
            return response
        finally:
            match = getattr(request, "resolver_match", None)
            duration_ms = round((time.perf_counter() - started) * 1000, 1)
            log.info(
                "%s %s %s %.1f ms",
                request.method,
                request.path,
                status,
                duration_ms,
                extra={
                    "method": request.method,
                    "path": request.path,
                    "route": match.route if match else "",
                    "status": status,
                    "duration_ms": duration_ms,
                    "user_id": _user_id(request),
                },
            )
            request_id_var.reset(token)
