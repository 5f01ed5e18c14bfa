"""The import services: an upload becomes a previewed ``ImportBatch``; applying it validates again, then writes."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.importing.matching import resolve, validate
from customers.importing.parsing import parse
from customers.importing.writing import write
from customers.models import ImportBatch

logger = logging.getLogger(__name__)


def import_batch_create(*, file_name: str, content: bytes, by: AbstractBaseUser | None) -> ImportBatch:
    """Validate an uploaded file and keep it as a batch: PREVIEWED if every row is good, else INVALID."""
    plan = validate(content)
    errors = plan.errors
    batch = ImportBatch.objects.create(
        file_name=file_name[:255],
        content=content,
        encoding=plan.encoding,
        status=ImportBatch.Status.INVALID if errors else ImportBatch.Status.PREVIEWED,
        row_count=len(plan.rows),
        created_count=len(plan.created),
        updated_count=len(plan.updated),
        errors=errors,
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


def import_batch_apply(*, batch: ImportBatch, by: AbstractBaseUser | None) -> ImportBatch:
    """Write every row of a previewed batch in one transaction, or nothing (ValidationError)."""
    stale: list[dict[str, Any]] = []
    try:
        with transaction.atomic():
            batch = ImportBatch.objects.select_for_update().get(pk=batch.pk)
            if batch.status == ImportBatch.Status.APPLIED:
                raise ValidationError(_("This import has already been applied."), code="applied")
            if batch.status != ImportBatch.Status.PREVIEWED:
                raise ValidationError(_("This file has errors: correct them and upload it again."), code="invalid")
            plan = validate(bytes(batch.content), for_update=True)
            if plan.errors:
                # The customers changed since the preview: keep the new errors on the batch, write no customer.
                stale = batch.errors = plan.errors
                batch.status = ImportBatch.Status.INVALID
                batch.save(update_fields=["status", "errors"])
            else:
                write(plan, file_name=batch.file_name)
                batch.status = ImportBatch.Status.APPLIED
                batch.applied_at = timezone.now()
                batch.row_count = len(plan.rows)
                batch.created_count = len(plan.created)
                batch.updated_count = len(plan.updated)
                batch.save(update_fields=["status", "applied_at", "row_count", "created_count", "updated_count"])
    except IntegrityError as exc:  # a concurrent write took an email or external ID of this file meanwhile
        raise ValidationError(
            _("Another customer took an email address or external ID of this file meanwhile: nothing was imported."),
            code="conflict",
        ) from exc
    if stale:
        raise ValidationError(
            _("The customers changed since the preview and %(count)d lines are now invalid: nothing was imported.")
            % {"count": len(stale)},
            code="stale",
        )
    logger.info(
        "customer import applied batch=%s created=%s updated=%s by=%s",
        batch.pk,
        batch.created_count,
        batch.updated_count,
        getattr(by, "pk", None),
    )
    return batch
