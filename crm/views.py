"""The project's own pages: the health check (the staff home is the insights dashboard, crm/insights/views.py)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .celery import app as celery_app

logger = logging.getLogger(__name__)


# --- Health ---------------------------------------------------------------------------------------


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers: the database answers and the broker accepts a connection.

    Anyone may ask, so the answer is bland: "ok" or "error" per part; what went wrong goes to the log."""
    state = {"database": "ok", "broker": "ok"}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # noqa: BLE001 - any failure means unhealthy
        logger.exception("healthz: the database does not answer")
        state["database"] = "error"
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception:  # noqa: BLE001
        logger.exception("healthz: the broker does not answer")
        state["broker"] = "error"
    healthy = all(v == "ok" for v in state.values())
    state["status"] = "ok" if healthy else "error"
    if settings.DEBUG:  # the embedded default says which broker it runs on; production keeps that to itself
        state["broker_transport"] = settings.CELERY_BROKER_URL.split("://", 1)[0]
    return JsonResponse(state, status=200 if healthy else 503)
