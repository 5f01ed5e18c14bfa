"""``manage.py scores_refresh``: score every buying customer now (what the nightly job does)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from crm.insights.scoring import scores_refresh


class Command(BaseCommand):
    help = "Refresh the RFM scores and segments of every customer who bought (the nightly job, run now)."

    def handle(self, *args, **options) -> None:
        result = scores_refresh()
        if result.skipped:
            self.stderr.write("Another scoring run is in progress; nothing done.")
            return
        self.stdout.write(
            f"{result.scored:,} customers scored, {result.written:,} rows written, "
            f"{result.deleted:,} stale rows deleted in {result.seconds:.1f} s."
        )
