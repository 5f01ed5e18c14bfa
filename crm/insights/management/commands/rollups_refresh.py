"""``manage.py rollups_refresh``: bring the insights rollups up to date now (what the periodic job does)."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from crm.insights.rollups import refresh


class Command(BaseCommand):
    help = "Refresh the insights rollups with what changed since the last run (the first run rebuilds them)."

    def handle(self, *args, **options) -> None:
        started = time.monotonic()
        result = refresh()
        timings = ", ".join(f"{k} {v:.2f} s" for k, v in result.timings.items())
        self.stdout.write(
            f"{'Rebuilt' if result.rebuilt else 'Refreshed'}: {result.customers:,} customers, {result.days:,} days "
            f"in {time.monotonic() - started:.2f} s ({timings})."
        )
