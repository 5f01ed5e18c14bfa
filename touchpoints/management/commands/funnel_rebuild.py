"""``manage.py funnel_rebuild``: recompute the journey funnel's rollups from every stage transition.

Run it after loading transitions without the services (``seed_demo``, a restore, a bulk SQL import), after
deleting customers or editing their acquisition source in bulk. Safe to run twice; writers of transitions
wait while it runs (about a minute per million customers), readers keep seeing the previous figures.
"""

import time

from django.core.management.base import BaseCommand

from touchpoints.funnel import funnel_rebuild


class Command(BaseCommand):
    help = "Recompute the journey funnel's rollups from the stage transitions."

    def handle(self, *args, **options):
        began = time.monotonic()
        counts = funnel_rebuild()
        self.stdout.write(
            f"Funnel rebuilt: {counts['reach_rows']:,} reach rows, {counts['stay_rows']:,} stay rows "
            f"in {time.monotonic() - began:.1f} s."
        )
