"""The preview of a large file in bounded memory: rows are read, matched and counted a chunk at a time, and
only what the preview keeps survives a chunk (counts, errors, the plan's fingerprint, the keys that can
repeat). The checks are ``resolve``'s, with the file-wide ones (repeated keys, one customer updated twice)
carried across chunks, so the preview says what validating the whole file at once says.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from customers.importing.matching import resolve
from customers.importing.parsing import Plan, Row, no_rows_error, parse_stream

CHUNK_ROWS = 5000  # rows matched against the database at once


def row_target(row: Row) -> str:
    """A row's part of the plan's fingerprint: its line, and new or which customer as last changed."""
    customer = row.customer
    target = f"{customer.pk}@{customer.updated_at.isoformat()}" if customer is not None else "new"
    return f"{row.line}:{target}\n"


@dataclass
class Summary:
    encoding: str = ""
    row_count: int = 0
    created_count: int = 0
    updated_count: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    fingerprint: str = ""
    customer_ids: list[int] = field(default_factory=list)


class _Keys:
    """Where each external ID or email first appeared, and the lines of those that repeat."""

    def __init__(self, column: str) -> None:
        self.column = column
        self.first: dict[str, int] = {}
        self.repeated: dict[str, list[int]] = {}

    def add(self, row: Row) -> None:
        if value := row.values.get(self.column):
            first = self.first.setdefault(value, row.line)
            if first != row.line:
                self.repeated.setdefault(value, [first]).append(row.line)


def preview(content: bytes, *, chunk_rows: int = CHUNK_ROWS) -> Summary:
    plan, rows = parse_stream(content)
    summary = Summary(encoding=plan.encoding)
    digest = hashlib.sha256()
    errors: dict[int, list[str]] = {}
    claimed: dict[int, Row] = {}
    keys = [_Keys("external_id"), _Keys("email")]
    customer_ids: set[int] = set()

    def settle(chunk: list[Row]) -> None:
        resolve(Plan(columns=plan.columns, rows=chunk), check_duplicates=False, claimed=claimed)
        for row in chunk:
            summary.row_count += 1
            digest.update(row_target(row).encode())
            if not row.unreadable:
                for key in keys:
                    key.add(row)
            if row.customer is not None:
                customer_ids.add(row.customer.pk)
                if claimed.get(row.customer.pk) is row:  # keep its line and errors, not its cells
                    claimed[row.customer.pk] = Row(line=row.line, values={}, errors=row.errors, customer=row.customer)
            if row.errors:
                errors[row.line] = row.errors
            elif row.customer is None:
                summary.created_count += 1
            else:
                summary.updated_count += 1

    def invalidate(line: int, message: str, *, updates: bool | None) -> None:
        if line not in errors:  # it was counted as valid
            if updates:
                summary.updated_count -= 1
            else:
                summary.created_count -= 1
            errors[line] = []
        errors[line].append(message)

    chunk: list[Row] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= chunk_rows:
            settle(chunk)
            chunk = []
    settle(chunk)
    # A customer updated by a row of a later chunk: its first row had no error when it was counted.
    for first in claimed.values():
        if first.errors and first.line not in errors:
            summary.updated_count -= 1
            errors[first.line] = first.errors
    updating = {first.line for first in claimed.values()}
    for key in keys:
        for value, lines in key.repeated.items():
            for line in lines:
                others = ", ".join(str(other) for other in lines if other != line)
                message = _("%(column)s: %(value)s is also on line %(lines)s.") % {
                    "column": key.column,
                    "value": value,
                    "lines": others,
                }
                invalidate(line, message, updates=line in updating)
    if not summary.row_count and plan.columns:
        no_rows_error(plan)
    row_errors = [{"line": line, "errors": messages} for line, messages in errors.items()]
    summary.errors = sorted(plan.file_errors + row_errors, key=lambda e: e["line"])
    summary.fingerprint = digest.hexdigest()
    summary.customer_ids = sorted(customer_ids)
    return summary
