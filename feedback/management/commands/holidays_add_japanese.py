"""``manage.py holidays_add_japanese 2031 [2032 …]``: list Japan's public holidays of those years in the admin.

The SLA calendar counts the public holidays of ``TSUNAGU_HOLIDAY_COUNTRY`` without them; listed rows are for
staff to see and edit. Days already in the table are left as they are (staff may have renamed or moved them).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from feedback.holidays import japanese_holidays
from feedback.models import Holiday


class Command(BaseCommand):
    help = "Add Japan's public holidays of the given years to the business calendar."

    def add_arguments(self, parser):
        parser.add_argument("years", nargs="+", type=int)

    def handle(self, *args, years: list[int], **options):
        for year in years:
            days = japanese_holidays(year)
            if not days:
                raise CommandError(f"No Japanese public holidays are known for {year}.")
            created = 0
            for day, name in days:
                _holiday, was_created = Holiday.objects.get_or_create(date=day, defaults={"name": name})
                created += was_created
            self.stdout.write(f"{year}: {created} holiday(s) added, {len(days) - created} already there.")
