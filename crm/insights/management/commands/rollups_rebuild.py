"""``manage.py rollups_rebuild``: recompute the insights rollups from scratch (after changing TSUNAGU_LAPSE_DAYS,
or to check that the incremental refresh agrees)."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from crm.insights.rollups import rebuild, vacuum


class Command(BaseCommand):
    help = "Recompute every insights rollup from the raw tables, printing how long each step took."

    def handle(self, *args, **options) -> None:
        started = time.monotonic()
        result = rebuild()
        vacuumed = time.monotonic()
        vacuum()
        result.timings["vacuum"] = time.monotonic() - vacuumed
        for step, seconds in result.timings.items():
            self.stdout.write(f"  {step}: {seconds:.2f} s")
        self.stdout.write(
            f"Rebuilt: {result.customers:,} customers, {result.days:,} days in {time.monotonic() - started:.2f} s."
        )
