"""Polling a mailbox over IMAP (IMAPClient): by UID, store first, move after.

Each batch of mail is fetched with ``BODY.PEEK[]`` (nothing is marked read on the server), stored in one
transaction (``ingest.mails_store``: unique on the Message-ID and on UIDVALIDITY+UID), and only then moved to
the processed folder (MOVE, or COPY then a UID EXPUNGE of those UIDs alone). Mail is never deleted otherwise. With
no processed folder the mail stays where it is and the mailbox remembers the highest UID stored. A worker killed
anywhere leaves at worst mail stored but not moved, or stored but not processed: the next run finds the first
already stored (nothing twice) and ``mails_process_pending`` the second.
"""

from __future__ import annotations

import contextlib
import logging
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.db import connection
from django.utils import timezone
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from ... import inbound
from .ingest import mails_process, mails_process_pending, mails_store
from .models import InboundMail, Mailbox
from .parsing import ParsedMail, parse

logger = logging.getLogger(__name__)

BATCH = 50
TIMEOUT = 30
LOCK_NAMESPACE = 0x4D41494C  # "MAIL": the advisory locks' first key; the mailbox id is the second


class MailboxError(Exception):
    """The mailbox cannot be read (connection, login, folder): recorded on the mailbox, retried next tick."""


@dataclass
class FetchReport:
    fetched: int = 0
    stored: int = 0
    already: int = 0
    moved: int = 0
    processed: int = 0
    seconds: float = 0.0
    statuses: dict[str, int] = field(default_factory=dict)
    busy: bool = False  # another worker was fetching this mailbox: nothing done


@contextlib.contextmanager
def _fetching(mailbox: Mailbox) -> Iterator[bool]:
    """One fetcher per mailbox at a time (a PostgreSQL session advisory lock, released when the worker's
    connection closes, so a killed worker never holds it). Two fetchers would otherwise both copy the same UIDs
    into the processed folder; the database would still store each mail once."""
    if connection.vendor != "postgresql":
        yield True
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [LOCK_NAMESPACE, mailbox.pk])
        locked = bool(cursor.fetchone()[0])
    try:
        yield locked
    finally:
        if locked:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_NAMESPACE, mailbox.pk])


def _connect(mailbox: Mailbox) -> IMAPClient:
    if not mailbox.host:
        raise MailboxError("no IMAP host")
    try:
        context = ssl.create_default_context()
        client = IMAPClient(mailbox.host, port=mailbox.port, ssl=mailbox.use_tls, ssl_context=context, timeout=TIMEOUT)
        if not mailbox.use_tls and client.has_capability("STARTTLS"):
            client.starttls(context)
        client.login(mailbox.username or mailbox.address, mailbox.password())
    except (OSError, IMAPClientError) as exc:
        raise MailboxError(f"{type(exc).__name__}: {exc}") from exc
    return client


def mailbox_fetch(*, mailbox: Mailbox, limit: int = 1000, process: bool = True) -> FetchReport:
    """Store the mailbox's new mail (at most ``limit``), move it, and process it. Safe to run twice, or in two
    workers at once: what one stored the other finds stored."""
    with _fetching(mailbox) as ours:
        if not ours:
            logger.info("mailbox %s: another worker is fetching it", mailbox.name)
            return FetchReport(busy=True)
        return _fetch_locked(mailbox, limit=limit, process=process)


def _fetch_locked(mailbox: Mailbox, *, limit: int, process: bool) -> FetchReport:
    started = time.monotonic()
    report = FetchReport()
    try:
        client = _connect(mailbox)
    except MailboxError as exc:
        Mailbox.objects.filter(pk=mailbox.pk).update(last_error=str(exc)[:2000])
        logger.warning("mailbox %s: %s", mailbox.name, exc)
        raise
    try:
        if process:
            _process_left(mailbox, limit, report)
        _fetch(client, mailbox, limit, report, process=process)
    except (OSError, IMAPClientError) as exc:
        Mailbox.objects.filter(pk=mailbox.pk).update(last_error=f"{type(exc).__name__}: {exc}"[:2000])
        raise MailboxError(str(exc)) from exc
    finally:
        with contextlib.suppress(OSError, IMAPClientError):
            client.logout()
    Mailbox.objects.filter(pk=mailbox.pk).update(last_fetched_at=timezone.now(), last_error="")
    report.seconds = time.monotonic() - started
    logger.info(
        "mailbox %s fetched=%d stored=%d already=%d moved=%d processed=%d",
        mailbox.name,
        report.fetched,
        report.stored,
        report.already,
        report.moved,
        report.processed,
    )
    return report


def _process_left(mailbox: Mailbox, limit: int, report: FetchReport) -> None:
    """Mail this mailbox stored and moved but never processed (a worker killed in between: a batch is stored in
    one transaction, then moved, then processed), before anything new; a mail that failed waits for
    ``mails_process_pending``."""
    left = list(
        InboundMail.objects.filter(status=InboundMail.Status.RECEIVED, mailbox=mailbox, attempts=0)
        .order_by("received_at", "id")
        .values_list("pk", flat=True)[:limit]
    )
    for start in range(0, len(left), BATCH):
        with inbound.batch():
            _count(report, mails_process(mails=[(pk, None) for pk in left[start : start + BATCH]]))


def _count(report: FetchReport, statuses: dict[int, str]) -> None:
    for status in statuses.values():
        if status and status != InboundMail.Status.RECEIVED:
            report.processed += 1
            report.statuses[status] = report.statuses.get(status, 0) + 1


def _fetch(client: IMAPClient, mailbox: Mailbox, limit: int, report: FetchReport, *, process: bool) -> None:
    info = client.select_folder(mailbox.folder)
    uidvalidity = int(info.get(b"UIDVALIDITY", 0))
    last_uid = mailbox.last_uid if mailbox.uidvalidity == uidvalidity else 0
    if mailbox.processed_folder and not client.folder_exists(mailbox.processed_folder):
        try:
            client.create_folder(mailbox.processed_folder)
        except IMAPClientError:
            if not client.folder_exists(mailbox.processed_folder):  # another worker created it meanwhile
                raise
    uids = sorted(uid for uid in client.search(["UID", f"{last_uid + 1}:*"]) if uid > last_uid)[:limit]
    can_move = client.has_capability("MOVE")
    for start in range(0, len(uids), BATCH):
        batch = uids[start : start + BATCH]
        fetched = client.fetch(batch, ["BODY.PEEK[]"])
        received: list[tuple[int, bytes, ParsedMail]] = []
        for uid in batch:
            raw = (fetched.get(uid) or {}).get(b"BODY[]")
            if raw is None:
                continue  # expunged meanwhile (another worker moved it)
            report.fetched += 1
            received.append((uid, raw, parse(raw)))
        stored: list[tuple[int, ParsedMail]] = []
        if received:
            results = mails_store(mails=received, mailbox=mailbox, uidvalidity=uidvalidity)
            for (mail, created), (_uid, _raw, parsed) in zip(results, received, strict=True):
                if created:
                    report.stored += 1
                else:
                    report.already += 1
                stored.append((mail.pk, parsed))
        # Every mail of the batch is committed: now, and only now, it may leave the folder.
        if mailbox.processed_folder and batch:
            if can_move:
                client.move(batch, mailbox.processed_folder)
            else:
                client.copy(batch, mailbox.processed_folder)
                client.add_flags(batch, [b"\\Deleted"])
                client.uid_expunge(batch)
            report.moved += len(batch)
        Mailbox.objects.filter(pk=mailbox.pk).update(uidvalidity=uidvalidity, last_uid=max(batch))
        mailbox.uidvalidity, mailbox.last_uid = uidvalidity, max(batch)
        if process:
            with inbound.batch():
                _count(report, mails_process(mails=stored))


def mailboxes_fetch(*, limit: int = 1000) -> dict[str, int]:
    """Every active mailbox with a host, then any stored mail still waiting to be processed (the periodic job)."""
    summary = {"mailboxes": 0, "stored": 0, "processed": 0, "errors": 0}
    for mailbox in Mailbox.objects.filter(is_active=True).exclude(host=""):
        summary["mailboxes"] += 1
        try:
            report = mailbox_fetch(mailbox=mailbox, limit=limit)
        except MailboxError:
            summary["errors"] += 1
            continue
        summary["stored"] += report.stored
        summary["processed"] += report.processed
    summary["processed"] += mails_process_pending()
    return summary
