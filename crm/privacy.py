"""Pages never kept in a browser's or a proxy's cache: every page the app renders names customers or staff.

Static files (served by WhiteNoise before this middleware) keep their long cache headers. A view that sets its own
Cache-Control (a CSV export, the API schema) keeps it.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control


class NoStoreMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not response.has_header("Cache-Control"):
            patch_cache_control(response, no_store=True, private=True)
        return response
