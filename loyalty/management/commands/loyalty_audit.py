"""``manage.py loyalty_audit``: prove that every balance equals its ledger.

For every membership: the balance equals the sum of its ledger entries, the lifetime points equal the sum
of what was credited (net of reversals and adjustments), and the unspent points of its lots add up to the
balance. Prints each difference and exits with status 1 when there is any (so it can run from cron or CI).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from loyalty.models import Membership
from loyalty.services import ledger_audit


class Command(BaseCommand):
    help = "Check that every loyalty balance equals its ledger; exit 1 on any difference."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--membership", type=int, action="append", help="audit only this membership (repeatable)")

    def handle(self, *args, **options) -> None:
        ids = options.get("membership")
        problems = ledger_audit(membership_ids=ids)
        checked = len(ids) if ids else Membership.objects.count()
        for problem in problems:
            self.stderr.write(problem.describe())
        if problems:
            raise CommandError(f"{len(problems)} of {checked} memberships do not match their ledger.", returncode=1)
        self.stdout.write(self.style.SUCCESS(f"All {checked} memberships match their ledger."))
