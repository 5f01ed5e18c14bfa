"""``/metrics``: the Prometheus scrape, for a scraper holding ``TSUNAGU_METRICS_TOKEN`` only."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from .collector import DomainCollector


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    token = settings.TSUNAGU_METRICS_TOKEN
    if not token:
        raise Http404  # switched off until an operator sets a token
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(given.encode(), token.encode()):
        return HttpResponse("A bearer token is required.\n", status=401, content_type="text/plain")
    # A registry per scrape: the figures are read from the database now, never from this process's memory.
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DomainCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
