"""Sending: claim, re-check, hand over, mark sent. The exactly-once argument is in docs/outbox.md."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q, Value
from django.db.models.functions import Coalesce, Greatest, Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from customers import consent
from customers.models import Customer

from .. import channels, richtext, sources
from ..channels.email import Delivery, DeliveryError, HandedOverUnconfirmed
from ..channels.mailbox.models import BouncedAddress
from ..models import FollowUp, MessageChannel, MessageTemplate, OutboundMessage, Purpose
from .enqueue import _address, skip_reason_for
from .line_send import line_send_all
from .policy import (
    PREFERENCE_CHANNELS,
    Skip,
    Status,
    _setting,
    line_users_attach,
    preference_purpose,
    quiet_until,
)
from .timeline import messages_record_timeline
from .unsubscribe import message_id_for, one_click_unsubscribe_url, unsubscribe_mailto, unsubscribe_token

logger = logging.getLogger(__name__)


@dataclass
class SendReport:
    claimed: int = 0
    sent: int = 0
    skipped: int = 0
    deferred: int = 0
    retrying: int = 0
    failed: int = 0
    released: int = 0
    unconfirmed: int = 0
    capped: int = 0  # of ``skipped``: the frequency cap
    timeline: int = 0
    sent_ids: list[int] = field(default_factory=list)


def _db(field_name: str, value: Any) -> Any:
    return OutboundMessage._meta.get_field(field_name).get_db_prep_value(value, connection)


def _tables() -> tuple[str, str]:
    quote = connection.ops.quote_name
    return quote(OutboundMessage._meta.db_table), quote(Customer._meta.db_table)


def _pipelined() -> bool:
    """Whether statements can be sent without waiting for their answer (PostgreSQL, outside a transaction)."""
    return connection.vendor == "postgresql" and connection.get_autocommit()


def _pg_send(sql: str, params: list[str | None]) -> Callable[[], list]:
    """Send one statement (``$1``… placeholders, text parameters) and return ``results()``, which waits for
    its answer. Until then the connection must not be used for anything else."""
    from psycopg import generators

    connection.ensure_connection()
    conn = connection.connection  # psycopg's Connection: its wait() blocks on the socket (no busy polling)
    conn.pgconn.send_query_params(sql.encode(), [None if p is None else p.encode() for p in params])
    conn.wait(generators.send(conn.pgconn))
    answer: list = []

    def results() -> list:
        if not answer:
            answer.append(conn.wait(generators.fetch_many(conn.pgconn)))
        return answer[0]

    return results


def _pg_ok(results: list, what: str) -> bool:
    from psycopg import pq

    bad = [r for r in results if r.status not in (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK)]
    if bad:
        logger.error("outbox: %s failed: %s", what, [r.error_message.decode(errors="replace") for r in bad])
    return bool(results) and not bad


def _may_send(token: uuid.UUID, message_id: int, *, previous: tuple[int, dt.datetime] | None) -> Callable[[], bool]:
    """Mark ``previous`` (accepted by the server) sent, and check the customer of ``message_id`` still accepts
    it (an unsubscribe a moment ago stops it here). On PostgreSQL one statement, sent without waiting: its
    answer is read (``check()``) after the SMTP transaction's first steps, so it costs no round trip."""
    table, customers = _tables()
    prev_id, prev_at = previous if previous else (None, None)
    consent = (
        f"SELECT EXISTS (SELECT 1 FROM {table} m JOIN {customers} c ON c.id = m.customer_id "  # noqa: S608
        f"WHERE m.id = {{id}} AND m.claim_token = {{claim}} AND m.status = 'sending' AND NOT c.do_not_contact "
        f"AND (m.purpose <> 'marketing' OR c.marketing_consent))"
    )
    if _pipelined():
        results = _pg_send(
            f"WITH prev AS (UPDATE {table} SET status = 'sent', sent_at = $1::timestamptz, "  # noqa: S608
            f"updated_at = $1::timestamptz WHERE id = $2::bigint AND claim_token = $3::uuid AND status = 'sending' "
            f"RETURNING id) " + consent.format(id="$4::bigint", claim="$3::uuid"),
            [prev_at.isoformat() if prev_at else None, str(prev_id) if prev_id else None, str(token), str(message_id)],
        )

        def check() -> bool:
            answer = results()
            return _pg_ok(answer, f"the check of message {message_id}") and answer[-1].get_value(0, 0) == b"t"

        return check
    if previous is not None:
        _mark_sent(token, [previous])
    with connection.cursor() as cursor:
        cursor.execute(consent.format(id="%s", claim="%s"), [message_id, _db("claim_token", token)])
        allowed = bool(cursor.fetchone()[0])
    return lambda: allowed


def _hand_over(token: uuid.UUID, message_id: int, *, at: dt.datetime) -> Callable[[], bool]:
    """Issue the durable "handed over" record of ``message_id`` and return ``confirm()``.

    On PostgreSQL the statement is sent without waiting for its answer, so the caller writes the SMTP
    end-of-data line right after it: the two leave this process back to back. A process killed after
    the statement left has its record committed anyway (the server runs a complete autocommitted
    statement before it notices the client is gone). ``confirm()`` waits: True when the row was ours.
    """
    if not _pipelined():
        updated = OutboundMessage.objects.filter(pk=message_id, claim_token=token, status=Status.SENDING).update(
            handed_over_at=at, updated_at=at
        )
        return lambda: updated == 1
    table, _customers = _tables()
    results = _pg_send(
        f"UPDATE {table} SET handed_over_at = $1::timestamptz, updated_at = $1::timestamptz "  # noqa: S608
        f"WHERE id = $2::bigint AND claim_token = $3::uuid AND status = 'sending'",
        [at.isoformat(), str(message_id), str(token)],
    )

    def confirm() -> bool:
        answer = results()
        return _pg_ok(answer, f"the hand-over record of message {message_id}") and answer[-1].command_tuples == 1

    return confirm


def _mark_sent(token: uuid.UUID, rows: Iterable[tuple[int, dt.datetime]], *, note: str = "") -> None:
    for pk, at in rows:
        OutboundMessage.objects.filter(pk=pk, claim_token=token, status=Status.SENDING).update(
            status=Status.SENT, sent_at=at, last_error=note, updated_at=at
        )


def backoff(attempts: int) -> dt.timedelta:
    base = max(1, _setting("TSUNAGU_OUTBOX_RETRY_SECONDS", 300))
    return dt.timedelta(seconds=base * 2 ** max(0, attempts - 1))


def _retry_or_fail(message: OutboundMessage, token: uuid.UUID, error: DeliveryError, now: dt.datetime) -> str:
    max_attempts = _setting("TSUNAGU_OUTBOX_MAX_ATTEMPTS", 6)
    final = error.permanent or message.attempts >= max_attempts
    OutboundMessage.objects.filter(pk=message.pk, claim_token=token).update(
        status=Status.FAILED if final else Status.QUEUED,
        next_attempt_at=now if final else now + backoff(message.attempts),
        last_error=str(error)[:2000],
        claim_token=None,
        handed_over_at=None,
        enqueued_at=None,
        updated_at=now,
    )
    logger.warning("outbox: message %s %s: %s", message.pk, "failed" if final else "will be retried", error)
    return Status.FAILED if final else Status.QUEUED


def _release(token: uuid.UUID, ids: Sequence[int], *, not_before: dt.datetime, note: str, now: dt.datetime) -> int:
    """Give back rows this attempt claimed but did not try (the connection went away)."""
    if not ids:
        return 0
    return OutboundMessage.objects.filter(pk__in=ids, claim_token=token, status=Status.SENDING).update(
        status=Status.QUEUED,
        attempts=Greatest(F("attempts") - 1, 0),
        claim_token=None,
        handed_over_at=None,
        enqueued_at=None,
        next_attempt_at=not_before,
        last_error=note,
        updated_at=now,
    )


def email_for(message: OutboundMessage) -> EmailMessage:
    headers = {"Message-ID": message_id_for(message.key)}
    headers.update(sources.headers_for(message))
    if message.purpose == Purpose.MARKETING:
        unsubscribe = f"<{one_click_unsubscribe_url(message.customer_id)}>"
        mailbox = unsubscribe_mailto()
        if mailbox:  # only when someone reads that mailbox (TSUNAGU_UNSUBSCRIBE_MAILTO)
            token = unsubscribe_token(message.customer_id)
            unsubscribe += f", <mailto:{mailbox}?subject={quote('unsubscribe ' + token)}>"
        headers["List-Unsubscribe"] = unsubscribe
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    template = message.template if message.template_id else None
    if template is not None and template.body_format == MessageTemplate.BodyFormat.MARKDOWN:
        # HTML with a plain-text part, both from the Markdown the staff wrote (richtext.py).
        email = EmailMultiAlternatives(
            subject=message.subject,
            body=richtext.markdown_to_text(message.body),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[message.to_address],
            headers=headers,
        )
        email.attach_alternative(
            richtext.markdown_to_html(message.body, title=message.subject, language=message.language), "text/html"
        )
        return email
    return EmailMessage(
        subject=message.subject,
        body=message.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[message.to_address],
        headers=headers,
    )


def messages_send(
    *,
    message_ids: Sequence[int],
    now: dt.datetime | None = None,
    delivery: Delivery | None = None,
) -> SendReport:
    """Send these outbox rows if they are still queued and due; safe to run twice (see the module docstring).

    ``now`` freezes the clock for tests; ``delivery`` is an open ``Delivery`` to reuse.
    """
    report = SendReport()
    ids = sorted({int(pk) for pk in message_ids})
    if not ids:
        return report
    clock: Callable[[], dt.datetime] = (lambda: now) if now is not None else timezone.now
    token = uuid.uuid4()
    started = clock()
    claimed = OutboundMessage.objects.filter(pk__in=ids, status=Status.QUEUED, next_attempt_at__lte=started).update(
        status=Status.SENDING,
        attempts=F("attempts") + 1,
        claim_token=token,
        claimed_at=started,
        handed_over_at=None,
        enqueued_at=None,
        updated_at=started,
    )
    if not claimed:
        return report
    _claim_line_siblings(token, started)
    messages = list(
        OutboundMessage.objects.filter(claim_token=token, status=Status.SENDING)
        .select_related("customer", "template")
        # The frequency cap of the rule or broadcast that made the message (0: none).
        .annotate(cap_days=Coalesce("followup__rule__cap_days", "broadcast__cap_days", Value(0)))
        # The customer's address bounced for good (a 5.x.x delivery report): nothing more is sent to it.
        .annotate(
            address_bounced=Exists(
                BouncedAddress.objects.annotate(address_lower=Lower("address")).filter(
                    address_lower=Lower(OuterRef("customer__email"))
                )
            )
        )
        .order_by("pk")
    )
    report.claimed = len(messages)
    line_users_attach([m.customer for m in messages if m.channel == MessageChannel.LINE])
    # The contact preferences the checks below read: one query for the batch, not one a message (none at all for
    # a batch of email news and service messages, which the preferences do not hold).
    consent.preferences_attach([m.customer for m in messages if _reads_preferences(m)])

    # Settle what will not be sent now: consent or address gone, quiet hours.
    skipped: dict[str, list[int]] = defaultdict(list)
    deferred: dict[dt.datetime, list[int]] = defaultdict(list)
    to_send: list[OutboundMessage] = []
    for message in messages:
        if message.is_test:  # to the staff member who asked, as addressed: the customer only filled it in
            to_send.append(message)
            continue
        reason = skip_reason_for(
            message.customer,
            purpose=message.purpose,
            channel=message.channel,
            source_app=message.source_app,
            source_ref=message.source_ref,
        )
        if not reason and channels.get(message.channel).handed_to_staff():
            reason = Skip.STAFF_TASK
        if not reason and message.channel == MessageChannel.EMAIL and message.address_bounced:
            reason = Skip.BOUNCED
        if reason:
            skipped[reason].append(message.pk)
            continue
        until = quiet_until(started) if message.purpose == Purpose.MARKETING else None
        if until is not None:
            deferred[until].append(message.pk)
            continue
        address = _address(message.customer, message.channel)
        if address != message.to_address:
            message.to_address = address
            OutboundMessage.objects.filter(pk=message.pk).update(to_address=address)
        to_send.append(message)
    for reason, pks in skipped.items():
        report.skipped += OutboundMessage.objects.filter(pk__in=pks, claim_token=token).update(
            status=Status.SKIPPED, skip_reason=reason, claim_token=None, updated_at=started
        )
    for until, pks in deferred.items():
        report.deferred += OutboundMessage.objects.filter(pk__in=pks, claim_token=token).update(
            status=Status.QUEUED,
            skip_reason=Skip.QUIET_HOURS,
            next_attempt_at=until,
            attempts=Greatest(F("attempts") - 1, 0),
            claim_token=None,
            updated_at=started,
        )

    to_send, report.capped = _frequency_cap(to_send, token=token, now=started)
    report.skipped += report.capped

    by_line = [m for m in to_send if m.channel == MessageChannel.LINE]
    if by_line:
        to_send = [m for m in to_send if m.channel != MessageChannel.LINE]
        line_send_all(by_line, token=token, clock=clock, report=report)
    if to_send:
        own = delivery is None
        delivery = delivery or Delivery()
        try:
            _send_all(to_send, token=token, delivery=delivery, clock=clock, report=report)
        finally:
            if own:
                delivery.close()
    sent_ids = set(report.sent_ids)
    sent = [m for m in [*to_send, *by_line] if m.pk in sent_ids and not m.is_test]
    if sent:
        report.timeline = messages_record_timeline(sent)
    logger.info(
        "outbox send claimed=%d sent=%d skipped=%d deferred=%d retrying=%d failed=%d released=%d unconfirmed=%d",
        report.claimed,
        report.sent,
        report.skipped,
        report.deferred,
        report.retrying,
        report.failed,
        report.released,
        report.unconfirmed,
    )
    return report


def _reads_preferences(message: OutboundMessage) -> bool:
    """Whether ``skip_reason_for`` asks the customer's contact preferences about this message (see consent.allows)."""
    if message.is_test or message.channel not in PREFERENCE_CHANNELS:
        return False
    topic = preference_purpose(purpose=message.purpose, source_app=message.source_app, source_ref=message.source_ref)
    return topic is not None and not (message.channel == MessageChannel.EMAIL and topic == "news")


def _claim_line_siblings(token: uuid.UUID, now: dt.datetime) -> None:
    """A LINE request that is retried goes again with all its rows (same retry key, same recipients): the
    queued rows sharing a claimed row's retry key are claimed too, whichever send task was given them."""
    keys = list(
        OutboundMessage.objects.filter(claim_token=token, channel=MessageChannel.LINE, retry_key__isnull=False)
        .values_list("retry_key", flat=True)
        .distinct()
    )
    if keys:
        OutboundMessage.objects.filter(retry_key__in=keys, status=Status.QUEUED).update(
            status=Status.SENDING,
            attempts=F("attempts") + 1,
            claim_token=token,
            claimed_at=now,
            handed_over_at=None,
            enqueued_at=None,
            updated_at=now,
        )


# The namespace of the per-customer advisory locks taken around the frequency cap check (two-int form).
CAP_LOCK_NAMESPACE = 7_207_104


def _lock_customers(customer_ids: Sequence[int]) -> None:
    """Take the frequency-cap lock of each customer, in id order (no deadlock between two senders), until the
    end of the transaction. PostgreSQL only: SQLite has a single writer, so its check cannot interleave."""
    if connection.vendor != "postgresql" or not customer_ids:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_advisory_xact_lock(%s, (k %% 2147483648)::int)) "
            "FROM (SELECT unnest(%s::bigint[]) AS k ORDER BY 1) AS keys",
            [CAP_LOCK_NAMESPACE, sorted(set(customer_ids))],
        )


def _frequency_cap(
    messages: list[OutboundMessage], *, token: uuid.UUID, now: dt.datetime
) -> tuple[list[OutboundMessage], int]:
    """Skip (reason "capped") the marketing messages whose rule or broadcast caps them and whose customer got,
    or is being sent, another marketing message within the cap. Returns (the messages to send, how many
    were capped).

    The enqueue-time check (rules, broadcasts) sees only committed rows, so two dispatchers or a broadcast
    and a dispatcher may both queue a message for one customer at the same instant. This is the check that
    holds: under a per-customer advisory lock, it reads the customer's marketing messages being sent or sent
    by other send attempts, and marks the capped ones skipped before the lock is released. A second send
    attempt for the same customer waits for the lock and then sees the first one's message as ``sending``."""
    capped_kinds = [m for m in messages if m.purpose == Purpose.MARKETING and getattr(m, "cap_days", 0)]
    if not capped_kinds:
        return messages, 0
    customer_ids = sorted({m.customer_id for m in capped_kinds})
    since = now - dt.timedelta(days=max(m.cap_days for m in capped_kinds))
    with transaction.atomic():
        _lock_customers(customer_ids)
        latest: dict[int, dt.datetime] = {}
        rows = (
            OutboundMessage.objects.filter(customer_id__in=customer_ids, purpose=Purpose.MARKETING)
            .filter(Q(status=Status.SENT, sent_at__gte=since) | Q(status=Status.SENDING, claimed_at__gte=since))
            .exclude(claim_token=token)
            .values_list("customer_id", Coalesce("sent_at", "claimed_at"))
        )
        for customer_id, at in rows:
            latest[customer_id] = max(at, latest.get(customer_id, at))
        keep: list[OutboundMessage] = []
        capped: list[OutboundMessage] = []
        for message in messages:  # in id order: within one batch the first message goes
            if message.purpose != Purpose.MARKETING:
                keep.append(message)
                continue
            last = latest.get(message.customer_id)
            cap = getattr(message, "cap_days", 0)
            if cap and last is not None and last >= now - dt.timedelta(days=cap):
                capped.append(message)
                continue
            keep.append(message)
            latest[message.customer_id] = now
        if capped:
            OutboundMessage.objects.filter(pk__in=[m.pk for m in capped], claim_token=token).update(
                status=Status.SKIPPED, skip_reason=Skip.CAPPED, claim_token=None, updated_at=now
            )
            followups = [m.followup_id for m in capped if m.followup_id]
            if followups:
                FollowUp.objects.filter(pk__in=followups, outcome=FollowUp.Outcome.MESSAGE).update(
                    outcome=FollowUp.Outcome.CAPPED
                )
            logger.info("outbox: %d message(s) skipped for the frequency cap at sending", len(capped))
    return keep, len(capped)


def _send_all(
    messages: list[OutboundMessage],
    *,
    token: uuid.UUID,
    delivery: Delivery,
    clock: Callable[[], dt.datetime],
    report: SendReport,
) -> None:
    previous: tuple[int, dt.datetime] | None = None  # accepted by the server, not yet marked sent

    for index, message in enumerate(messages):
        email = email_for(message)

        def may_send(message: OutboundMessage = message) -> Callable[[], bool]:
            nonlocal previous
            check = _may_send(token, message.pk, previous=previous)
            previous = None
            return check

        def hand_over(message: OutboundMessage = message) -> Callable[[], bool]:
            return _hand_over(token, message.pk, at=clock())

        try:
            accepted = delivery.send(email, may_send=may_send, hand_over=hand_over)
        except HandedOverUnconfirmed as exc:
            at = clock()
            note = _(
                "Unconfirmed: %(error)s. The message was handed to the mail server; counted as sent, not resent."
            ) % {"error": exc}
            _mark_handed_over_sent(token, message.pk, at=at, note=note)
            message.sent_at = at
            report.sent += 1
            report.unconfirmed += 1
            report.sent_ids.append(message.pk)
            continue
        except DeliveryError as exc:
            if previous is not None:
                _mark_sent(token, [previous])
                previous = None
            now = clock()
            if _retry_or_fail(message, token, exc, now) == Status.FAILED:
                report.failed += 1
            else:
                report.retrying += 1
            if exc.connection_lost:
                rest = [m.pk for m in messages[index + 1 :]]
                report.released += _release(
                    token, rest, not_before=now + backoff(1), note=_("Not tried: the mail server went away."), now=now
                )
                return
            continue
        if accepted:
            at = clock()
            previous = (message.pk, at)
            message.sent_at = at
            report.sent += 1
            report.sent_ids.append(message.pk)
        else:
            # The customer withdrew consent (or was marked do-not-contact) since the batch was claimed.
            customer = Customer.objects.get(pk=message.customer_id)
            reason = (
                skip_reason_for(
                    customer,
                    purpose=message.purpose,
                    channel=message.channel,
                    source_app=message.source_app,
                    source_ref=message.source_ref,
                )
                or Skip.CANCELLED
            )
            OutboundMessage.objects.filter(pk=message.pk, claim_token=token).update(
                status=Status.SKIPPED, skip_reason=reason, claim_token=None, handed_over_at=None, updated_at=clock()
            )
            report.skipped += 1
    if previous is not None:
        _mark_sent(token, [previous])


def _mark_handed_over_sent(token: uuid.UUID, message_id: int, *, at: dt.datetime, note: str) -> None:
    """The server may have the message: never send it again. If the claim was lost meanwhile (the row was
    recovered and queued again), take it back before a second copy goes out."""
    updated = OutboundMessage.objects.filter(pk=message_id, claim_token=token, status=Status.SENDING).update(
        status=Status.SENT, sent_at=at, last_error=note[:2000], updated_at=at
    )
    if not updated:
        OutboundMessage.objects.filter(pk=message_id, status=Status.QUEUED).update(
            status=Status.SENT, sent_at=at, last_error=note[:2000], claim_token=None, enqueued_at=None, updated_at=at
        )
        logger.error("outbox: message %s was delivered after its claim was lost (CLAIM_TIMEOUT too short?)", message_id)


def message_send(*, message_id: int, now: dt.datetime | None = None) -> SendReport:
    return messages_send(message_ids=[message_id], now=now)
