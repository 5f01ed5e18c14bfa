"""``manage.py retention_anonymise``: the retention policy's job, run by hand (Celery beat runs it nightly)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from crm.dataprotection import services


class Command(BaseCommand):
    help = "Anonymise customers inactive for TSUNAGU_RETENTION_INACTIVE_YEARS (does nothing when it is 0)."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Count the customers due, change nothing.")

    def handle(self, *args, dry_run: bool = False, **options):
        if services.retention_cutoff() is None:
            self.stdout.write("TSUNAGU_RETENTION_INACTIVE_YEARS is 0: the retention policy is off.")
            return
        if dry_run:
            self.stdout.write(f"{services.retention_candidates().count()} customers due for anonymisation.")
            return
        total = services.retention_anonymise(seconds=float("inf"))  # by hand: until none is left
        self.stdout.write(f"{total} customers anonymised.")
