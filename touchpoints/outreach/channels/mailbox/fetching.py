"""Polling a mailbox over IMAP (IMAPClient): by UID, store first, move after.

Each batch of mail is fetched with ``BODY.PEEK[]`` (nothing is marked read on the server), each mail stored in its
own transaction (``ingest.mail_store``: unique on the Message-ID and on UIDVALIDITY+UID), and only then moved to
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
from .ingest import mail_process, mail_store, mails_process_pending
from .models import InboundMail, Mailbox
from .parsing import parse

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
        stored: list[tuple[int, object]] = []
        for uid in batch:
            raw = (fetched.get(uid) or {}).get(b"BODY[]")
            if raw is None:
                continue  # expunged meanwhile (another worker moved it)
            report.fetched += 1
            parsed = parse(raw)
            mail, created = mail_store(raw=raw, mailbox=mailbox, uidvalidity=uidvalidity, uid=uid, parsed=parsed)
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
                for mail_id, parsed in stored:
                    status = mail_process(mail_id=mail_id, parsed=parsed)
                    if status and status != InboundMail.Status.RECEIVED:
                        report.processed += 1
                        report.statuses[status] = report.statuses.get(status, 0) + 1


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
