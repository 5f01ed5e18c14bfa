"""Storing a mail once, then doing what it asks: the mail channel's services.

``mail_store`` keeps the raw bytes first (unique on the Message-ID and on the mailbox's UIDVALIDITY+UID: a
retried fetch, two workers, a worker killed mid-mail all end with one row); only then may the fetcher move the
mail on the server. ``mail_process`` claims a stored row (``select_for_update(skip_locked)``) and, in the same
transaction: ignores Tsunagu's own mail, records a bounce on the outbox, withdraws consent for an unsubscribe
request, and dispatches anything else as an ``inbound.Inbound`` (feedback threads it into a ticket). A failure
rolls back, is recorded on the row and retried later; the raw mail is never lost. A fetched batch goes through
``mails_store`` and ``mails_process``: the same rules, a transaction per batch and a savepoint per mail.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from customers.models import Customer

from ... import inbound
from ...models import OutboundMessage
from ...outbox.unsubscribe import customer_id_from_token, customer_unsubscribe, message_id_for
from .models import BouncedAddress, DeliveryReport, InboundAttachment, InboundMail, Mailbox
from .parsing import Bounce, ParsedMail, parse

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
PROCESS_BATCH = 50  # mails processed in one transaction (one IMAP fetch)
BOUNCE_LOOKBACK = 500  # the newest sent messages to an address searched for a bounced Message-ID
_TOKEN = re.compile(r"\b([0-9A-Za-z]{1,20}:[A-Za-z0-9_-]{20,60})\b")
# Executables and scripts are never kept, whatever their declared type.
_REFUSED_EXTENSIONS = {
    ".exe", ".bat", ".cmd", ".com", ".scr", ".pif", ".vbs", ".vbe", ".js", ".jse", ".wsf", ".wsh", ".msi",
    ".msp", ".hta", ".cpl", ".jar", ".ps1", ".lnk", ".reg", ".dll", ".iso",
}  # fmt: skip


def _setting(name: str, default):
    return getattr(settings, name, default)


def own_addresses() -> set[str]:
    """Addresses Tsunagu sends from or reads: mail from them is its own (a loop), never ingested (read once per
    fetched batch)."""
    return inbound.batch_memo("mailbox:own_addresses", _own_addresses)


def _own_addresses() -> set[str]:
    addresses = {email.utils.parseaddr(settings.DEFAULT_FROM_EMAIL)[1].lower()}
    addresses.update(a.lower() for a in Mailbox.objects.values_list("address", flat=True))
    return {a for a in addresses if a}


# --- Storing -------------------------------------------------------------------------------------------------


def _attachment_rows(parsed: ParsedMail) -> list[InboundAttachment]:
    limit = int(_setting("TSUNAGU_MAIL_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024))
    rows = []
    for part in parsed.attachments[: int(_setting("TSUNAGU_MAIL_ATTACHMENT_MAX_COUNT", 20))]:
        reason = ""
        lower = part.filename.lower()
        if len(part.data) > limit:
            reason = "size"
        elif any(lower.endswith(ext) for ext in _REFUSED_EXTENSIONS) or part.content_type in (
            "application/x-msdownload",
            "application/x-msdos-program",
            "application/x-sh",
            "application/javascript",
        ):
            reason = "type"
        rows.append(
            InboundAttachment(
                filename=part.filename,
                content_type=part.content_type[:100],
                size=len(part.data),
                content=None if reason else part.data,
                refused_reason=reason,
            )
        )
    return rows


def mail_store(
    *,
    raw: bytes,
    mailbox: Mailbox | None = None,
    uidvalidity: int | None = None,
    uid: int | None = None,
    now: dt.datetime | None = None,
    parsed: ParsedMail | None = None,
) -> tuple[InboundMail, bool]:
    """Keep ``raw`` (and its attachments) once. Returns (the row, whether this call stored it)."""
    parsed = parsed or parse(raw)
    now = now or timezone.now()
    stored_before = Q(message_id=parsed.message_id[:255])
    if uid is not None:
        stored_before |= Q(mailbox=mailbox, uidvalidity=uidvalidity, uid=uid)
    existing = InboundMail.objects.filter(stored_before).first()  # one query for both keys
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            mail = InboundMail.objects.create(
                mailbox=mailbox,
                uidvalidity=uidvalidity,
                uid=uid,
                message_id=parsed.message_id[:255],
                raw=raw,
                size=len(raw),
                sender=parsed.sender[:320],
                subject=parsed.subject[:300],
                sent_at=parsed.date,
                received_at=now,
            )
            attachments = _attachment_rows(parsed)
            for row in attachments:
                row.mail = mail
            InboundAttachment.objects.bulk_create(attachments)
    except IntegrityError:  # stored meanwhile by another worker (same Message-ID or same UID)
        existing = (
            InboundMail.objects.filter(message_id=parsed.message_id).first()
            or InboundMail.objects.filter(mailbox=mailbox, uidvalidity=uidvalidity, uid=uid).first()
        )
        if existing is None:
            raise
        return existing, False
    return mail, True


def mails_store(
    *,
    mails: Sequence[tuple[int, bytes, ParsedMail]],
    mailbox: Mailbox,
    uidvalidity: int,
    now: dt.datetime | None = None,
) -> list[tuple[InboundMail, bool]]:
    """``mail_store`` for a fetched batch of (UID, raw, parsed): one query finds the mail stored before (by
    Message-ID or UID), one transaction inserts the rest and their attachments in bulk. Should the insert clash
    (another worker stored one meanwhile) or the batch repeat a Message-ID, each mail is stored on its own. The
    rows found stored before carry only their keys."""
    now = now or timezone.now()
    message_ids = [parsed.message_id[:255] for _uid, _raw, parsed in mails]
    before = InboundMail.objects.filter(
        Q(message_id__in=message_ids) | Q(mailbox=mailbox, uidvalidity=uidvalidity, uid__in=[m[0] for m in mails])
    ).only("id", "message_id", "mailbox_id", "uidvalidity", "uid", "status")
    by_message_id, by_uid = {}, {}
    for row in before:
        by_message_id[row.message_id] = row
        if row.mailbox_id == mailbox.pk and row.uidvalidity == uidvalidity:
            by_uid[row.uid] = row
    results: list[tuple[InboundMail, bool] | None] = []
    new, attachments, seen = [], [], set()
    for (uid, raw, parsed), message_id in zip(mails, message_ids, strict=True):
        existing = by_message_id.get(message_id) or by_uid.get(uid)
        if existing is not None:
            results.append((existing, False))
            continue
        if message_id in seen:  # the batch repeats a Message-ID: stored on its own below, after the first
            results.append(None)
            continue
        seen.add(message_id)
        mail = InboundMail(
            mailbox=mailbox,
            uidvalidity=uidvalidity,
            uid=uid,
            message_id=message_id,
            raw=raw,
            size=len(raw),
            sender=parsed.sender[:320],
            subject=parsed.subject[:300],
            sent_at=parsed.date,
            received_at=now,
        )
        new.append(mail)
        for row in _attachment_rows(parsed):
            row.mail = mail
            attachments.append(row)
        results.append((mail, True))
    try:
        with transaction.atomic():
            InboundMail.objects.bulk_create(new)
            for row in attachments:
                row.mail_id = row.mail.pk
            InboundAttachment.objects.bulk_create(attachments)
    except IntegrityError:  # stored meanwhile by another worker: each mail on its own, as mail_store decides
        logger.info("mailbox %s: a batch clashed with another worker's, storing its mail one by one", mailbox.pk)
        results = [None] * len(mails)
    return [
        result or mail_store(raw=raw, mailbox=mailbox, uidvalidity=uidvalidity, uid=uid, now=now, parsed=parsed)
        for result, (uid, raw, parsed) in zip(results, mails, strict=True)
    ]


# --- Processing ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    status: str
    kind: str
    result: str = ""


def mail_process(*, mail_id: int, parsed: ParsedMail | None = None, now: dt.datetime | None = None) -> str:
    """Do what a stored mail asks, once. Returns its status afterwards ("" when another worker holds it)."""
    now = now or timezone.now()
    try:
        with transaction.atomic():
            mail = (
                InboundMail.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("mailbox")
                .filter(pk=mail_id, status=InboundMail.Status.RECEIVED)
                .first()
            )
            if mail is None:
                return InboundMail.objects.filter(pk=mail_id).values_list("status", flat=True).first() or ""
            if parsed is None or parsed.message_id != mail.message_id:
                parsed = parse(bytes(mail.raw))
            outcome = _act(mail, parsed, now=now)
            InboundMail.objects.filter(pk=mail.pk).update(
                status=outcome.status,
                kind=outcome.kind,
                result=outcome.result[:200],
                error="",
                processed_at=now,
                attempts=mail.attempts + 1,
            )
            return outcome.status
    except Exception as exc:  # the row stays as stored; the error is kept and the mail retried later
        logger.exception("inbound mail %s could not be processed", mail_id)
        failed = InboundMail.objects.filter(pk=mail_id, status=InboundMail.Status.RECEIVED).first()
        if failed is not None:
            attempts = failed.attempts + 1
            InboundMail.objects.filter(pk=mail_id).update(
                attempts=attempts,
                error=f"{type(exc).__name__}: {exc}"[:2000],
                status=InboundMail.Status.FAILED if attempts >= MAX_ATTEMPTS else InboundMail.Status.RECEIVED,
            )
            return InboundMail.Status.FAILED if attempts >= MAX_ATTEMPTS else InboundMail.Status.RECEIVED
        return ""


def mails_process(*, mails: Sequence[tuple[int, ParsedMail | None]], now: dt.datetime | None = None) -> dict[int, str]:
    """``mail_process`` for a fetched batch in one transaction: the rows are claimed in one query, each mail is
    done in a savepoint of its own (one bad mail rolls back alone, is recorded as failed and never stops the
    others), the rows that several mails write through one bulk service (new tickets' touchpoints,
    ``inbound.deferred_writes``) are written once at the end, and every row's outcome in one statement. Should the
    batch itself fail, each mail is processed on its own. Returns {mail id: status} ("" when another worker holds
    it)."""
    now = now or timezone.now()
    if not mails:
        return {}
    try:
        return _mails_process(mails, now=now)
    except Exception:
        logger.exception("inbound mail batch failed: processing its %d mails one by one", len(mails))
        return {pk: mail_process(mail_id=pk, parsed=parsed, now=now) for pk, parsed in mails}


def _mails_process(mails: Sequence[tuple[int, ParsedMail | None]], *, now: dt.datetime) -> dict[int, str]:
    Status = InboundMail.Status
    ids = [pk for pk, _ in mails]
    statuses: dict[int, str] = {}
    with transaction.atomic(), inbound.deferred_writes():
        claimed = {
            mail.pk: mail
            for mail in InboundMail.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("mailbox")
            .filter(pk__in=ids, status=Status.RECEIVED)
        }
        done = []
        for pk, parsed in mails:
            mail = claimed.get(pk)
            if mail is None:
                continue
            mail.attempts += 1
            try:
                with transaction.atomic(), inbound.message_writes():
                    if parsed is None or parsed.message_id != mail.message_id:
                        parsed = parse(bytes(mail.raw))
                    outcome = _act(mail, parsed, now=now)
            except Exception as exc:  # rolled back alone; kept with its error and retried later, as mail_process
                logger.exception("inbound mail %s could not be processed", pk)
                mail.error = f"{type(exc).__name__}: {exc}"[:2000]
                mail.status = Status.FAILED if mail.attempts >= MAX_ATTEMPTS else Status.RECEIVED
            else:
                mail.status, mail.kind, mail.result = outcome.status, outcome.kind, outcome.result[:200]
                mail.error, mail.processed_at = "", now
            statuses[pk] = mail.status
            done.append(mail)
        if done:
            fields = ["status", "kind", "result", "error", "processed_at", "attempts"]
            InboundMail.objects.bulk_update(done, fields)
    missing = [pk for pk in ids if pk not in claimed]
    if missing:  # processed before, or held by another worker: what they are now
        statuses.update(InboundMail.objects.filter(pk__in=missing).values_list("pk", "status"))
    return {pk: statuses.get(pk, "") for pk in ids}


def mails_process_pending(*, limit: int = 500) -> int:
    """Process stored mail not processed yet (a worker killed between storing and processing, a retry)."""
    ids = list(
        InboundMail.objects.filter(status=InboundMail.Status.RECEIVED)
        .order_by("received_at", "id")
        .values_list("pk", flat=True)[:limit]
    )
    processed = 0
    for start in range(0, len(ids), PROCESS_BATCH):
        with inbound.batch():
            statuses = mails_process(mails=[(pk, None) for pk in ids[start : start + PROCESS_BATCH]])
        processed += sum(1 for status in statuses.values() if status not in ("", InboundMail.Status.RECEIVED))
    return processed


def _act(mail: InboundMail, parsed: ParsedMail, *, now: dt.datetime) -> Outcome:
    Status, Kind = InboundMail.Status, InboundMail.Kind
    if parsed.sender and parsed.sender in own_addresses():
        return Outcome(Status.IGNORED, Kind.OWN, "sent by Tsunagu")
    if parsed.bounce is not None:
        return Outcome(Status.PROCESSED, Kind.BOUNCE, bounce_record(bounce=parsed.bounce, mail=mail, now=now))
    mailbox = mail.mailbox
    if mailbox is not None and mailbox.purpose == Mailbox.Purpose.UNSUBSCRIBE:
        if parsed.automatic:
            return Outcome(Status.IGNORED, Kind.AUTOMATIC, parsed.automatic)
        done = unsubscribe_by_mail(parsed=parsed, now=now)
        if done is None:
            logger.warning("unsubscribe mail %s without a valid token: nothing withdrawn", mail.pk)
            return Outcome(Status.IGNORED, Kind.UNSUBSCRIBE, "no valid token: nothing withdrawn, for staff to review")
        return Outcome(Status.PROCESSED, Kind.UNSUBSCRIBE, done)
    attachments = [
        inbound.Attachment(
            filename=a.filename,
            content_type=a.content_type,
            size=a.size,
            stored_name="" if a.refused_reason else f"inboundattachment:{a.pk}",
            refused_reason=a.refused_reason,
        )
        for a in (mail.attachments.all() if parsed.attachments else ())  # no query when the mail has none
    ]
    message = inbound.Inbound(
        channel="email",
        external_id=mail.message_id,
        sender=parsed.sender,
        received_at=parsed.date or mail.received_at,
        text=parsed.text,
        subject=parsed.subject,
        references=parsed.answers,
        attachments=attachments,
        automatic=bool(parsed.automatic),
        extra={
            "mail_id": mail.pk,
            "mailbox_id": mailbox.pk if mailbox else None,
            "assignee_id": mailbox.assignee_id if mailbox else None,
            "sender_name": parsed.sender_name,
            "recipients": list(parsed.recipients),
            "html_only": parsed.html_only,
        },
    )
    kind = Kind.AUTOMATIC if parsed.automatic else Kind.MESSAGE
    result = inbound.dispatch(message)
    if result is None:
        return Outcome(Status.IGNORED, kind, parsed.automatic or "no conversation took it")
    return Outcome(Status.PROCESSED, kind, str(result))


def bounce_record(*, bounce: Bounce, mail: InboundMail | None = None, now: dt.datetime | None = None) -> str:
    """Record a delivery report against the outbound message it is about (``DeliveryReport``); a permanent failure
    (5.x.x) stops all mail to the address (``BouncedAddress``; the outbox skips it as "bounced")."""
    now = now or timezone.now()
    notes = []
    for recipient in bounce.recipients:
        if recipient.action not in ("failed", "delayed"):
            continue
        candidates = list(
            OutboundMessage.objects.filter(to_address__iexact=recipient.address, status=OutboundMessage.Status.SENT)
            .order_by("-sent_at", "-id")
            .values_list("pk", "key")[:BOUNCE_LOOKBACK]
        )
        match = next((pk for pk, key in candidates if message_id_for(key) == bounce.original_message_id), None)
        if match is None and candidates and not bounce.original_message_id:
            match = candidates[0][0]
        if mail is not None:
            DeliveryReport.objects.get_or_create(
                mail=mail,
                address=recipient.address[:254],
                defaults={
                    "outbound_id": match,
                    "permanent": recipient.permanent,
                    "status_code": recipient.status[:20],
                    "diagnostic": recipient.diagnostic[:500],
                    "reported_at": now,
                },
            )
        if recipient.permanent:
            address = recipient.address.lower()
            if not BouncedAddress.objects.filter(address__iexact=address).exists():
                try:
                    with transaction.atomic():
                        BouncedAddress.objects.create(
                            address=address,
                            status_code=recipient.status[:20],
                            diagnostic=recipient.diagnostic[:500],
                            mail=mail,
                            bounced_at=now,
                        )
                except IntegrityError:
                    pass  # recorded meanwhile
        notes.append(f"{recipient.action} {recipient.status} message={match}")
        logger.info("bounce recorded message=%s status=%s permanent=%s", match, recipient.status, recipient.permanent)
    return "; ".join(notes) or "no failed recipient"


def unsubscribe_by_mail(*, parsed: ParsedMail, now: dt.datetime | None = None) -> str | None:
    """A mail to the List-Unsubscribe mailbox withdraws consent only with the signed token Tsunagu's ``mailto:``
    writes in its subject (or a body that quotes it). From is anyone's to forge: without a valid token nothing is
    withdrawn, and None says so (the mail is kept as an unsubscribe request for staff to review)."""
    customer = None
    for text in (parsed.subject, parsed.text[:2000]):
        for token in _TOKEN.findall(text or ""):
            customer_id = customer_id_from_token(token)
            if customer_id is not None:
                customer = Customer.objects.filter(pk=customer_id).first()
                break
        if customer is not None:
            break
    if customer is None:
        return None
    stopped = customer_unsubscribe(customer=customer, method="mail", now=now)
    return f"customer={customer.pk} unsubscribed stopped={stopped}"


# --- Retention -----------------------------------------------------------------------------------------------

RAW_RETENTION_CHUNK = 500


def mails_raw_drop(*, now: dt.datetime | None = None, chunk: int = RAW_RETENTION_CHUNK) -> int:
    """Empty the raw bytes of mail received more than ``TSUNAGU_INBOUND_RAW_RETENTION_DAYS`` ago (0: keep them),
    in chunks, each its own short transaction. What the mail became (the ticket's message, its attachments, the
    headers kept on the row) stays; mail not processed yet keeps its bytes until it is. Safe to run twice."""
    days = int(_setting("TSUNAGU_INBOUND_RAW_RETENTION_DAYS", 365) or 0)
    if days <= 0:
        return 0
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=days)
    done_statuses = [InboundMail.Status.PROCESSED, InboundMail.Status.IGNORED, InboundMail.Status.FAILED]
    dropped = 0
    while True:
        with transaction.atomic():
            ids = list(
                InboundMail.objects.filter(raw_dropped_at__isnull=True, received_at__lt=cutoff)
                .filter(status__in=done_statuses)
                .order_by("received_at", "id")
                .select_for_update(skip_locked=True)
                .values_list("pk", flat=True)[:chunk]
            )
            if not ids:
                break
            dropped += InboundMail.objects.filter(pk__in=ids).update(raw=b"", raw_dropped_at=now)
        if len(ids) < chunk:
            break
    if dropped:
        logger.info("inbound mail raw bytes dropped count=%d older_than_days=%d", dropped, days)
    return dropped
