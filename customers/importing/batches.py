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

from customers.importing.matching import resolve, validate
from customers.importing.parsing import Plan, parse
from customers.importing.streaming import preview, row_target
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
    """Refuse a file above TSUNAGU_IMPORT_MAX_BYTES before reading it: its rows are held in memory to validate."""
    limit = settings.TSUNAGU_IMPORT_MAX_BYTES
    if size > limit:
        raise ValidationError(
            _("The file is too large (%(size)s MB): the limit is %(limit)s MB. Split it into smaller files.")
            % {"size": f"{size / 1_048_576:.1f}", "limit": f"{limit / 1_048_576:.1f}"},
            code="too_large",
        )


def plan_fingerprint(plan: Plan) -> str:
    """What applying would do: each row's line, whether it creates or updates, and which customer as last
    changed. Applying recomputes it, so a plan changed since the preview is never applied unseen."""
    digest = hashlib.sha256()
    for row in plan.rows:
        digest.update(row_target(row).encode())
    return digest.hexdigest()


def _customer_ids(plan: Plan) -> list[int]:
    """The customers whose rows the upload holds, so that erasing one of them erases the upload too."""
    return sorted({row.customer.pk for row in plan.rows if row.customer is not None})


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
    changed = False
    try:
        with transaction.atomic():
            batch = ImportBatch.objects.select_for_update().get(pk=batch.pk)
            if batch.status == ImportBatch.Status.APPLIED:
                raise ValidationError(_("This import has already been applied."), code="applied")
            if batch.status != ImportBatch.Status.PREVIEWED:
                raise ValidationError(_("This file has errors: correct them and upload it again."), code="invalid")
            plan = validate(bytes(batch.content), for_update=True)
            if plan_fingerprint(plan) != batch.fingerprint or plan.errors:
                # The customers changed since the preview: this batch becomes the new preview, nothing is written.
                changed = True
                batch.errors = plan.errors
                batch.status = ImportBatch.Status.INVALID if plan.errors else ImportBatch.Status.PREVIEWED
                batch.row_count = len(plan.rows)
                batch.created_count = len(plan.created)
                batch.updated_count = len(plan.updated)
                batch.fingerprint = plan_fingerprint(plan)
                batch.customer_ids = _customer_ids(plan)
                batch.save(update_fields=[*_PREVIEW_FIELDS, "customer_ids"])
            else:
                created_ids = write(plan, file_name=batch.file_name)
                batch.status = ImportBatch.Status.APPLIED
                batch.applied_at = timezone.now()
                batch.customer_ids = sorted({*_customer_ids(plan), *created_ids})
                batch.save(update_fields=["status", "applied_at", "customer_ids"])
    except IntegrityError as exc:  # a concurrent write took an email or external ID of this file meanwhile
        raise ValidationError(
            _("Another customer took an email address or external ID of this file meanwhile: nothing was imported."),
            code="conflict",
        ) from exc
    if changed:
        raise ValidationError(
            _("The data changed since the preview: nothing was imported. Check the new preview and apply it again."),
            code="changed",
        )
    logger.info(
        "customer import applied batch=%s created=%s updated=%s by=%s",
        batch.pk,
        batch.created_count,
        batch.updated_count,
        getattr(by, "pk", None),
    )
    return batch
