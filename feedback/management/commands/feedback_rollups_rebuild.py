"""``manage.py feedback_rollups_rebuild``: recompute the feedback figures' rollup from the raw tickets and answers
(after restoring data, or to put right a deletion the refresh cannot see)."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from feedback import rollups


class Command(BaseCommand):
    help = "Recompute the feedback figures' rollup from the raw tickets and survey answers."

    def handle(self, *args, **options) -> None:
        started = time.monotonic()
        days = rollups.rebuild()
        self.stdout.write(f"Rebuilt: {days:,} days in {time.monotonic() - started:.2f} s.")
