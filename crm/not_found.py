"""The 404 page: JSON under /api/ (a path that matches no route, e.g. ``/api/v1/customers/e/tickets/``), Django's
page elsewhere. API clients read JSON for every answer, as the schema says (issue 16)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.defaults import page_not_found


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": _("Not found.")}, status=404)
    return page_not_found(request, exception)
