"""Announcements that staff exported customers' data, heard by the audit trail above (crm.audit).

The export views call ``customers_exported_announce`` before streaming; a receiver writes one access
record with the customer ids and the filter used. Nothing listens on the embedded minimum: it costs
the one query that lists the ids.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.dispatch import Signal
from django.http import HttpRequest

# kwargs: request, customer_ids (list[int]), what (str: which export), filter (dict: the query parameters)
customers_exported = Signal()


def customers_exported_announce(*, request: HttpRequest, queryset: QuerySet, what: str) -> None:
    if not customers_exported.receivers:
        return
    # ``values_list`` on the queryset's own model, or on its customer for rows about customers (scores).
    field = "pk" if queryset.model._meta.label == "customers.Customer" else "customer_id"
    ids = list(queryset.order_by().values_list(field, flat=True))
    customers_exported.send(sender=None, request=request, customer_ids=ids, what=what, filter=dict(request.GET.lists()))


# kwargs: request, customer_ids (list[int]), what (str: which page). Pages of apps above that show a customer's
# personal data outside the customer page (the till's member screen) announce each view; the audit trail logs it.
customers_viewed = Signal()


def customers_viewed_announce(*, request: HttpRequest, customer_ids: list[int], what: str) -> None:
    if customers_viewed.receivers:
        customers_viewed.send(sender=None, request=request, customer_ids=customer_ids, what=what)
