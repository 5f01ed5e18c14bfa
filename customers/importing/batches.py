"""The import services: an upload becomes a previewed ``ImportBatch``; applying it validates again, then writes."""

from __future__ import annotations

import hashlib
import logging
from datetime import date
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from customers import services
from customers.importing.matching import resolve
from customers.importing.parsing import Plan, Row, parse, parse_stream
from customers.importing.streaming import CHUNK_ROWS, preview, row_target
from customers.importing.writing import write
from customers.models import ImportBatch

logger = logging.getLogger(__name__)
_PREVIEW_FIELDS = ["errors", "status", "row_count", "created_count", "updated_count", "fingerprint"]


def import_batch_create(*, file_name: str, content: bytes, by: AbstractBaseUser | None) -> ImportBatch:
    """Validate an uploaded file and keep it as a batch: PREVIEWED if every row is good, else INVALID."""
    import_size_check(size=len(content))
    summary = preview(content)
    errors = summary.errors
    batch = ImportBatch.objects.create(
        file_name=file_name[:255],
        content=content,
        encoding=summary.encoding,
        status=ImportBatch.Status.INVALID if errors else ImportBatch.Status.PREVIEWED,
        row_count=summary.row_count,
        created_count=summary.created_count,
        updated_count=summary.updated_count,
        errors=errors,
        fingerprint=summary.fingerprint,
        customer_ids=summary.customer_ids,
        created_by=by if getattr(by, "pk", None) else None,
    )
    logger.info(
        "customer import previewed batch=%s rows=%s errors=%s by=%s",
        batch.pk,
        batch.row_count,
        len(errors),
        getattr(by, "pk", None),
    )
    return batch


def import_size_check(*, size: int) -> None:
    """Refuse a file above TSUNAGU_IMPORT_MAX_BYTES before reading it: the file itself is held while it is read."""
    limit = settings.TSUNAGU_IMPORT_MAX_BYTES
    if size > limit:
        raise ValidationError(
            _("The file is too large (%(size)s MB): the limit is %(limit)s MB. Split it into smaller files.")
            % {"size": f"{size / 1_048_576:.1f}", "limit": f"{limit / 1_048_576:.1f}"},
            code="too_large",
        )


def import_preview_rows(*, batch: ImportBatch, limit: int = 20) -> list[dict[str, Any]]:
    """The first rows as they would be written: {"line", "action", "values": {column: text}}, in file order."""
    plan = parse(bytes(batch.content), limit=limit)
    resolve(plan, check_duplicates=False)
    return [
        {
            "line": row.line,
            "action": "create" if row.customer is None else "update",
            "values": {column: _display(row.values.get(column)) for column in plan.columns},
        }
        for row in plan.rows[:limit]
    ]


def _display(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list):
        return "; ".join(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _search_index_flush_publish() -> None:
    """After commit: merge the search index's entries the import left pending (``services.search_index_defer``).
    Not fatal if the broker is down: autovacuum, or the next insert, merges them too."""
    from customers.tasks import search_index_flush_task

    try:
        search_index_flush_task.apply_async(retry=True, retry_policy={"max_retries": 2})
    except Exception:
        logger.exception("customer import: could not publish the search index flush; autovacuum will do it")


class _PlanChanged(Exception):
    """Raised inside the apply's transaction to roll every chunk back."""


def _apply_chunks(batch: ImportBatch, *, chunk_rows: int) -> tuple[list[int], list[int]]:
    """Match and write the batch's rows a chunk at a time in the caller's transaction, so memory holds one chunk,
    not the file: the ids created and the ids updated. The checks of ``resolve`` run per chunk, the file-wide one
    (one customer updated by two rows) across chunks; the plan's fingerprint is recomputed as the rows are matched,
    before each is written. Any difference from the preview raises _PlanChanged: the caller rolls it all back."""
    plan, rows = parse_stream(bytes(batch.content))
    digest = hashlib.sha256()
    claimed: dict[int, Row] = {}
    created_ids: list[int] = []
    customer_ids: set[int] = set()

    def settle(chunk: list[Row]) -> None:
        chunk_plan = Plan(columns=plan.columns, rows=chunk)
        resolve(chunk_plan, for_update=True, check_duplicates=False, claimed=claimed)
        for row in chunk:
            digest.update(row_target(row).encode())
            if row.customer is not None:
                customer_ids.add(row.customer.pk)
                if claimed.get(row.customer.pk) is row:  # keep its line and (shared) errors, not its cells
                    claimed[row.customer.pk] = Row(line=row.line, values={}, errors=row.errors, customer=row.customer)
        if any(row.errors for row in chunk):
            raise _PlanChanged
        created_ids.extend(write(chunk_plan, file_name=batch.file_name))

    chunk: list[Row] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= chunk_rows:
            settle(chunk)
            chunk = []
    settle(chunk)
    if plan.file_errors or any(first.errors for first in claimed.values()) or digest.hexdigest() != batch.fingerprint:
        raise _PlanChanged
    return created_ids, sorted(customer_ids)


def _preview_again(batch: ImportBatch) -> None:
    """The customers changed since the preview: the batch becomes the new preview (nothing was written)."""
    summary = preview(bytes(batch.content))
    batch.errors = summary.errors
    batch.status = ImportBatch.Status.INVALID if summary.errors else ImportBatch.Status.PREVIEWED
    batch.row_count = summary.row_count
    batch.created_count = summary.created_count
    batch.updated_count = summary.updated_count
    batch.fingerprint = summary.fingerprint
    batch.customer_ids = summary.customer_ids
    batch.save(update_fields=[*_PREVIEW_FIELDS, "customer_ids"])


def import_batch_apply(*, batch: ImportBatch, by: AbstractBaseUser | None, chunk_rows: int = CHUNK_ROWS) -> ImportBatch:
    """Write every row of a previewed batch in one transaction, or nothing (ValidationError). The rows are matched
    and written a chunk at a time (bounded memory); a plan that differs from the preview rolls all of it back and
    becomes the new preview."""
    pk = batch.pk
    try:
        with transaction.atomic():
            batch = ImportBatch.objects.select_for_update().get(pk=pk)
            if batch.status == ImportBatch.Status.APPLIED:
                raise ValidationError(_("This import has already been applied."), code="applied")
            if batch.status != ImportBatch.Status.PREVIEWED:
                raise ValidationError(_("This file has errors: correct them and upload it again."), code="invalid")
            services.search_index_defer()
            created_ids, updated_ids = _apply_chunks(batch, chunk_rows=chunk_rows)
            transaction.on_commit(_search_index_flush_publish)
            batch.status = ImportBatch.Status.APPLIED
            batch.applied_at = timezone.now()
            batch.customer_ids = sorted({*updated_ids, *created_ids})
            batch.save(update_fields=["status", "applied_at", "customer_ids"])
    except IntegrityError as exc:  # a concurrent write took an email or external ID of this file meanwhile
        raise ValidationError(
            _("Another customer took an email address or external ID of this file meanwhile: nothing was imported."),
            code="conflict",
        ) from exc
    except _PlanChanged:
        with transaction.atomic():
            _preview_again(ImportBatch.objects.select_for_update().get(pk=pk))
        raise ValidationError(
            _("The data changed since the preview: nothing was imported. Check the new preview and apply it again."),
            code="changed",
        ) from None
    logger.info(
        "customer import applied batch=%s created=%s updated=%s by=%s",
        batch.pk,
        batch.created_count,
        batch.updated_count,
        getattr(by, "pk", None),
    )
    return batch
