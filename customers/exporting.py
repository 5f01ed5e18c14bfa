"""CSV export of customers, streamed: UTF-8 with a BOM (so Excel reads Japanese), CRLF line ends.

The columns are the importer's, so an exported file re-imports unchanged. A cell that a spreadsheet
would run as a formula gets a leading single quote (the importer removes it again).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date

from django.db.models import Prefetch, QuerySet

from .importing import COLUMNS, FORMULA_PREFIXES
from .models import Customer, Tag

BOM = "\ufeff"
CHUNK_SIZE = 2000  # rows fetched per database round trip (and tags prefetched per chunk)
FLUSH_EVERY = 500  # rows per chunk handed to the response


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def _row(customer: Customer) -> list[str]:
    values = []
    for column in COLUMNS:
        if column == "tags":
            value = ";".join(tag.name for tag in customer.tags.all())
        elif column == "owner":
            value = customer.owner.get_username() if customer.owner_id else ""
        else:
            value = getattr(customer, column)
        values.append(_cell(value))
    return values


def customer_csv_chunks(queryset: QuerySet[Customer]) -> Iterator[bytes]:
    """Encoded chunks of the CSV for ``queryset``: a constant number of queries per CHUNK_SIZE rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow(COLUMNS)
    rows = queryset.select_related("owner").prefetch_related(
        Prefetch("tags", queryset=Tag.objects.only("id", "name").order_by("name"))
    )
    for count, customer in enumerate(rows.iterator(chunk_size=CHUNK_SIZE), start=1):
        writer.writerow(_row(customer))
        if count % FLUSH_EVERY == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode("utf-8")
