"""The project's own pages: the health check (the staff home is the insights dashboard, crm/insights/views.py)."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

# --- Health ---------------------------------------------------------------------------------------


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers: the database answers and the broker accepts a connection."""
    state = {"database": "ok", "broker": "ok"}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure means unhealthy
        state["database"] = f"error: {type(exc).__name__}"
    try:
        from crm.celery import app

        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:  # noqa: BLE001
        state["broker"] = f"error: {type(exc).__name__}"
    healthy = all(v == "ok" for v in state.values())
    state["status"] = "ok" if healthy else "error"
    state["broker_transport"] = settings.CELERY_BROKER_URL.split("://", 1)[0]
    return JsonResponse(state, status=200 if healthy else 503)
