"""Reads of the access log."""

from __future__ import annotations

import datetime as dt

from django.contrib.postgres.fields import ArrayField
from django.db.models import Func, IntegerField, QuerySet
from django.db.models.expressions import RawSQL

from .models import AccessRecord


def access_for_customers(customer_ids: list[int], *, start: dt.datetime | None = None, end: dt.datetime | None = None):
    """Who read or exported any of these customers (the GIN index answers ``customer_ids && …``), newest first."""
    records: QuerySet[AccessRecord] = AccessRecord.objects.filter(customer_ids__overlap=customer_ids)
    if start is not None:
        records = records.filter(at__gte=start)
    if end is not None:
        records = records.filter(at__lt=end)
    # Not the stored array (an export of every customer holds a million ids): its size and the asked-for ids in it.
    matched = RawSQL(
        "ARRAY(SELECT unnest(audit_accessrecord.customer_ids) INTERSECT SELECT unnest(%s::integer[]) ORDER BY 1)",
        (list(customer_ids),),
        output_field=ArrayField(IntegerField()),
    )
    rows = Func("customer_ids", function="cardinality", output_field=IntegerField())
    return records.defer("customer_ids").annotate(matched_ids=matched, row_count=rows).order_by("-at", "-id")
