"""Writing the access log: one INSERT a page view or an export, read by nothing on the request's path."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from .models import AccessRecord

# The customer pages whose views are logged by the middleware: URL name → how.
LOGGED_VIEWS: dict[str, str] = {
    "customers:detail": AccessRecord.How.PAGE,
    "customers:timeline": AccessRecord.How.TIMELINE,
    "api:customer_upsert": AccessRecord.How.API,
    # A customer's touchpoints, memberships and tickets read by an API key (the customer in the URL).
    "api:customer_touchpoints": AccessRecord.How.API,
    "loyalty_api:customer_memberships": AccessRecord.How.API,
    "feedback_api:customer_tickets": AccessRecord.How.API,
}


def _who(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    auth = getattr(request, "auth", None)
    who: dict[str, Any] = {"user": None, "username": "", "api_key_id": None}
    if user is not None and getattr(user, "is_authenticated", False) and getattr(user, "_meta", None) is not None:
        who.update(user=user, username=user.get_username())
    if auth is not None and getattr(auth, "_meta", None) is not None:
        who.update(api_key_id=auth.pk, username=str(auth)[:150])
    return who


def access_record(
    *, request: HttpRequest, how: str, customer_ids: list[int], what: str = "", filter: dict | None = None
) -> AccessRecord:
    return AccessRecord.objects.create(
        **_who(request),
        how=how,
        what=what[:100],
        customer_ids=sorted(set(customer_ids)),
        filter=filter or {},
        path=request.path[:300],
    )


class AccessLogMiddleware:
    """Records a successful read of a customer page, its timeline, or a customer through the API."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        how = LOGGED_VIEWS.get(match.view_name) if match else None
        if how is None or response.status_code not in (200, 201):
            return response
        customer_id = match.kwargs.get("pk")
        if customer_id is None and how == AccessRecord.How.API:  # the upsert: the customer in the answer
            customer_id = (getattr(response, "data", None) or {}).get("id")
        if customer_id is not None:
            access_record(request=request, how=how, customer_ids=[int(customer_id)], what=match.view_name)
        return response


def retention_days() -> int:
    return int(settings.TSUNAGU_AUDIT_RETENTION_DAYS)
