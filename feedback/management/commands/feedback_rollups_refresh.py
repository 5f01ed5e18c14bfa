"""``manage.py feedback_rollups_refresh``: bring the feedback figures' rollup up to date now (what the periodic job
does)."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from feedback import rollups


class Command(BaseCommand):
    help = "Refresh the feedback figures' rollup with the days changed since the last run (the first run builds it)."

    def handle(self, *args, **options) -> None:
        started = time.monotonic()
        days = rollups.refresh()
        self.stdout.write(f"Refreshed: {days:,} days in {time.monotonic() - started:.2f} s.")
