"""How the ingest API knows its caller: an API key sent as ``Authorization: Bearer <key>``, never in the URL.

Kept apart from ``api.py`` because REST_FRAMEWORK settings name these classes, and DRF imports them while
the API views are being defined.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions, throttling

from .models import ApiKey
from .services import api_key_authenticate, api_key_mark_used


class ApiClient:
    """``request.user`` for a request made with an API key: authenticated, but never a staff member."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None
    id = None

    def __init__(self, api_key: ApiKey):
        self.api_key = api_key

    def __str__(self) -> str:
        return f"API key {self.api_key.prefix}"

    def has_perm(self, perm: str, obj=None) -> bool:
        return False

    def get_username(self) -> str:
        return str(self)


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if isinstance(header, bytes):
            header = header.decode("latin-1")
        parts = header.split()
        if not parts or parts[0].lower() != self.keyword.lower():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(_("Send the key as “Authorization: Bearer <key>”."))
        raw = parts[1]
        if not raw.isascii():
            raise exceptions.AuthenticationFailed(_("Invalid API key."))
        api_key = api_key_authenticate(raw)
        if api_key is None:
            raise exceptions.AuthenticationFailed(_("Invalid or revoked API key."))
        api_key_mark_used(api_key=api_key)
        return ApiClient(api_key), api_key

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'


class HasApiKey(permissions.BasePermission):
    message = _("Send an API key as “Authorization: Bearer <key>”.")

    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, ApiKey)


class HasApiKeyScopes(HasApiKey):
    """An API key holding every scope the view names in ``required_scopes`` (``ApiScope`` values). A view naming
    none is refused to every key, so a new endpoint is closed until it says what it needs.

    The 403 names the missing scopes: ``{"detail": "...", "missing_scopes": ["loyalty"]}``."""

    def has_permission(self, request, view) -> bool:
        if not super().has_permission(request, view):
            return False  # DRF answers 401 (no key) through the authenticator's header
        required = getattr(view, "required_scopes", None)
        if not required:
            self.message = {"detail": _("This endpoint is not open to API keys."), "missing_scopes": []}
            return False
        missing = [s for s in required if s not in (request.auth.scopes or [])]
        if missing:
            self.message = {
                "detail": _("This API key lacks the scope %(scopes)s.") % {"scopes": ", ".join(missing)},
                "missing_scopes": missing,
            }
            return False
        return True


class ApiKeyRateThrottle(throttling.BaseThrottle):
    """Requests per API key, TSUNAGU_API_RATE_LIMIT ("600/minute"), in fixed windows counted in the cache (Redis in
    production) with one atomic increment a request: DRF's own throttle reads its history, then writes it back, so
    requests sent in parallel overwrote each other's counts and got through well past the limit."""

    PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

    def allow_request(self, request, view) -> bool:
        if not isinstance(request.auth, ApiKey):
            return True
        count, _sep, period = settings.TSUNAGU_API_RATE_LIMIT.partition("/")
        limit, window = int(count), self.PERIODS[period.strip()[0]]
        now = time.time()
        key = f"tsunagu:rate:api_key:{request.auth.pk}:{int(now // window)}"
        cache.add(key, 0, timeout=window + 1)
        try:
            used = cache.incr(key)
        except ValueError:  # expired between the add and the increment (a clock at the window's edge)
            cache.add(key, 0, timeout=window + 1)
            used = cache.incr(key)
        self.retry_in = window - now % window
        return used <= limit

    def wait(self) -> float | None:
        """Seconds until the window ends (DRF's Retry-After)."""
        return getattr(self, "retry_in", None)


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "touchpoints.api_auth.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "An API key created by a manager."}
