from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from customers.models import Customer


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The staff home page. The full KPI dashboard arrives with the insights issue; these are cheap figures."""
    today = timezone.localdate()
    month_start = timezone.make_aware(dt.datetime.combine(today.replace(day=1), dt.time()))
    week_ago = timezone.now() - dt.timedelta(days=7)
    figures = {
        "new_this_month": Customer.objects.filter(created_at__gte=month_start).order_by()[:10_001].count(),
        "active_this_week": Customer.objects.filter(last_activity_at__gte=week_ago).order_by()[:10_001].count(),
        "mine": Customer.objects.filter(owner=request.user).order_by()[:10_001].count(),
    }
    recent = Customer.objects.select_related("owner").order_by("-last_activity_at", "-id")[:8]
    return render(request, "home.html", {"figures": figures, "recent": recent, "cap": 10_000})


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
