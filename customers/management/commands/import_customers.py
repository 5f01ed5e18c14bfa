"""manage.py import_customers FILE [--dry-run] [--user USERNAME]: the web import, from a shell."""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from customers.importing import import_batch_apply, import_batch_create, import_size_check
from customers.models import ImportBatch


class Command(BaseCommand):
    help = "Import customers from a CSV file (the columns of the web import); all rows or none."

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path, help="CSV file, UTF-8 (with or without BOM) or Shift_JIS.")
        parser.add_argument("--dry-run", action="store_true", help="Validate and report; write nothing.")
        parser.add_argument("--user", help="Staff username recorded as the uploader.")

    def handle(self, *args, file: Path, dry_run: bool, user: str | None, **options) -> None:
        by = None
        if user:
            by = get_user_model().objects.filter(username=user).first()
            if by is None:
                raise CommandError(f"No user with the username {user!r}.")
        try:
            import_size_check(size=file.stat().st_size)
            content = file.read_bytes()
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc}") from exc

        with transaction.atomic():
            batch = import_batch_create(file_name=file.name, content=content, by=by)
            if dry_run:
                transaction.set_rollback(True)  # a dry run leaves no batch behind either
        for entry in batch.errors:
            for message in entry["errors"]:
                self.stderr.write(f"line {entry['line']}: {message}")
        if batch.status == ImportBatch.Status.INVALID:
            raise CommandError(
                f"{len(batch.errors)} lines have errors; nothing was imported (the file has {batch.row_count} rows)."
            )
        if dry_run:
            self.stdout.write(
                f"Dry run: {batch.row_count} rows are valid; would create {batch.created_count}, "
                f"update {batch.updated_count}."
            )
            return
        try:
            batch = import_batch_apply(batch=batch, by=by)
        except ValidationError as exc:
            for entry in ImportBatch.objects.get(pk=batch.pk).errors:
                for message in entry["errors"]:
                    self.stderr.write(f"line {entry['line']}: {message}")
            raise CommandError(" ".join(exc.messages)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {batch.row_count} rows: {batch.created_count} created, {batch.updated_count} updated "
                f"(import #{batch.pk})."
            )
        )
