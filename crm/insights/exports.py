"""CSV exports of the insights: the dashboard's figures, the cohort table and the customers behind a figure.

Excel-safe like customers/exporting.py, whose cell rule and customer writer they reuse: UTF-8 with a BOM (so
Excel reads Japanese), CRLF line ends, and a cell a spreadsheet would run as a formula gets a leading quote.
Numbers are written raw (no ¥, no thousands separators) so a spreadsheet can compute with them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from decimal import Decimal

from django.db.models import QuerySet
from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.exporting import BOM, _cell, customer_csv_chunks
from customers.models import Customer

from .metrics import Cohorts, Dashboard


def _number(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".")
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else str(value)
    return str(value)


def csv_text(rows: Iterable[Iterable[object]]) -> str:
    """The CSV for ``rows`` (the first is the header): a BOM, CRLF line ends, every text cell formula-safe."""
    buffer = io.StringIO()
    buffer.write(BOM)
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        writer.writerow(
            [_number(v) if isinstance(v, int | float | Decimal) and not isinstance(v, bool) else _cell(v) for v in row]
        )
    return buffer.getvalue()


def dashboard_rows(board: Dashboard) -> Iterator[list[object]]:
    yield [_("Figure"), _("Key"), _("Value"), _("Previous period"), _("Change"), _("Unit"), _("From"), _("To")]
    for key, figure in board.figures.items():
        yield [
            str(figure.definition.label),
            key,
            figure.value,
            figure.previous,
            figure.change,
            figure.definition.unit,
            board.period.start.isoformat(),
            board.period.end.isoformat(),
        ]


def cohort_rows(cohorts: Cohorts) -> Iterator[list[object]]:
    offsets = len(cohorts.rows[0].counts) if cohorts.rows else 0
    yield [
        _("Cohort"),
        _("Customers"),
        *[_("Month %(n)s") % {"n": n} for n in range(offsets)],
        *[_("Month %(n)s share") % {"n": n} for n in range(offsets)],
    ]
    for row in cohorts.rows:
        yield [row.month.strftime("%Y-%m"), row.size, *row.counts, *row.shares]


def _filename(stem: str) -> str:
    return f"{stem}-{timezone.localtime().strftime('%Y%m%d-%H%M')}.csv"


def csv_response(rows: Iterable[Iterable[object]], *, stem: str) -> HttpResponse:
    response = HttpResponse(csv_text(rows).encode("utf-8"), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_filename(stem)}"'
    return response


def customers_response(queryset: QuerySet[Customer], *, stem: str) -> StreamingHttpResponse:
    """The customers, streamed in the customer export's columns (so the file re-imports unchanged)."""
    response = StreamingHttpResponse(customer_csv_chunks(queryset), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_filename(stem)}"'
    return response
