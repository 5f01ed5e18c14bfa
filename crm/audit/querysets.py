"""Reads of the access log."""

from __future__ import annotations

import datetime as dt

from django.contrib.postgres.fields import ArrayField
from django.db import connection
from django.db.models import Func, IntegerField, QuerySet
from django.db.models.expressions import RawSQL

from .models import AccessRecord


def access_for_customers(customer_ids: list[int], *, start: dt.datetime | None = None, end: dt.datetime | None = None):
    """Who read or exported any of these customers (the GIN index answers ``customer_ids && …``), newest first.

    Each record comes with ``matched_ids`` (which of these customers it covers) and ``row_count``."""
    records: QuerySet[AccessRecord] = AccessRecord.objects.all()
    if start is not None:
        records = records.filter(at__gte=start)
    if end is not None:
        records = records.filter(at__lt=end)
    if connection.vendor != "postgresql":
        return _read_in_python(records, set(customer_ids))
    records = records.filter(customer_ids__overlap=customer_ids)
    # Not the stored array (an export of every customer holds a million ids): its size and the asked-for ids in it.
    matched = RawSQL(
        "ARRAY(SELECT unnest(audit_accessrecord.customer_ids) INTERSECT SELECT unnest(%s::integer[]) ORDER BY 1)",
        (list(customer_ids),),
        output_field=ArrayField(IntegerField()),
    )
    rows = Func("customer_ids", function="cardinality", output_field=IntegerField())
    return records.defer("customer_ids").annotate(matched_ids=matched, row_count=rows).order_by("-at", "-id")


def _read_in_python(records: QuerySet[AccessRecord], wanted: set[int]) -> list[AccessRecord]:
    """SQLite (the embedded default, a small shop) has no array type: the period's records, filtered here."""
    found = []
    for record in records.order_by("-at", "-id").iterator():
        matched = sorted(wanted.intersection(record.customer_ids))
        if matched:
            record.matched_ids, record.row_count = matched, len(record.customer_ids)
            found.append(record)
    return found
