"""``manage.py mailbox_fetch [name…]``: fetch the mailboxes' new mail now (the periodic job does it every
TSUNAGU_MAILBOX_POLL_SECONDS). Safe to run beside the job: each mail is stored once."""

from django.core.management.base import BaseCommand, CommandError

from touchpoints.outreach.channels.mailbox.fetching import MailboxError, mailbox_fetch
from touchpoints.outreach.channels.mailbox.ingest import mails_process_pending
from touchpoints.outreach.models import Mailbox


class Command(BaseCommand):
    help = "Fetch new mail from the active mailboxes (or those named), store it once and process it."

    def add_arguments(self, parser):
        parser.add_argument("names", nargs="*", help="mailbox names (default: every active mailbox with a host)")
        parser.add_argument("--limit", type=int, default=1000, help="at most this many mails per mailbox")

    def handle(self, *args, names, limit, **options):
        mailboxes = Mailbox.objects.filter(is_active=True).exclude(host="")
        if names:
            mailboxes = Mailbox.objects.filter(name__in=names)
            missing = set(names) - set(mailboxes.values_list("name", flat=True))
            if missing:
                raise CommandError(f"no mailbox named {', '.join(sorted(missing))}")
        failed = 0
        for mailbox in mailboxes:
            try:
                report = mailbox_fetch(mailbox=mailbox, limit=limit)
            except MailboxError as exc:
                failed += 1
                self.stderr.write(f"{mailbox.name}: {exc}")
                continue
            self.stdout.write(
                f"{mailbox.name}: {report.fetched} fetched, {report.stored} stored, {report.already} already stored, "
                f"{report.moved} moved, {report.processed} processed in {report.seconds:.1f} s"
            )
        pending = mails_process_pending()
        if pending:
            self.stdout.write(f"{pending} stored mail processed")
        if failed:
            raise CommandError(f"{failed} mailbox(es) could not be read")
