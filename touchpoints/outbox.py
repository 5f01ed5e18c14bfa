"""The outbox: every message to a customer is a row, sent once.

Public interface (the apps above touchpoints call these)::

    message_enqueue(*, customer, key, purpose, template=None, template_slug=None, subject="", body="",
                    context=None, channel="email", send_after=None, source_app="", source_ref="", now=None)
    customer_unsubscribe(*, customer, method, now=None)
    unsubscribe_url(customer_id) / one_click_unsubscribe_url(customer_id)

How a message goes out (``messages_send``, run by the send tasks):

1. **Claim.** ``UPDATE … SET status='sending', attempts=attempts+1, claim_token=<new uuid>
   WHERE id IN (…) AND status='queued' AND next_attempt_at <= now``. A second task for the same rows
   (a retried broker message, a second worker, the sweeper's re-enqueue) claims nothing and stops.
2. **Re-check.** Consent, do-not-contact and the address are read again from the customer rows; quiet
   hours defer marketing mail (the row goes back to ``queued`` with a later ``next_attempt_at``). The
   frequency cap of the message's rule or broadcast is checked under a per-customer advisory lock
   (``_frequency_cap``): two send attempts for one customer at the same instant let one marketing
   message through and skip the other as ``capped``. Just before each message's SMTP transaction, one
   statement marks the previous message ``sent`` and checks the customer still accepts this one (an
   unsubscribe that committed a moment ago stops it).
3. **Hand over.** The SMTP transaction is run step by step (touchpoints/delivery.py): MAIL, RCPT, DATA,
   the content. Then the statement recording ``handed_over_at`` is *sent* to PostgreSQL and the SMTP
   end-of-data line is written straight after it, before the database answers; then both answers
   are read.
4. **Mark sent** (folded into the next message's check, or done at the end), then the batch's
   messages are recorded on the customers' timelines as retention touchpoints.

**Exactly once under ``kill -9``.** A worker can die anywhere. The sweeper (``outbox_sweep``, every
tick) finds rows left in ``sending`` by a send attempt that has shown no progress for
``TSUNAGU_OUTBOX_CLAIM_TIMEOUT`` seconds and decides from ``handed_over_at``:

- not set: the end-of-data line never left the worker, so the SMTP transaction did not complete and
  the server discarded the message. The row goes back to ``queued`` and is sent again; no duplicate.
- set: the record was sent to the database, so the end-of-data line left (microseconds later) or the
  worker died in between. The row is marked ``sent`` (with a note in ``last_error``) and is never
  sent again: at-most-once for this window, since a second copy is the failure customers see.

Why the record is sent without waiting for its answer: a worker killed while *waiting* for the
commit (a database round trip, a large share of each message's time) would otherwise leave a
committed record for a message whose end of data was never sent: a lost message, and the first
version of the kill test found two in a thousand. With the record and the line written back to back,
a message is lost only if the process dies between two consecutive ``send()`` system calls (a
statement that reached the server's socket buffer is still executed and committed when its client
dies). ``bin/bench`` measures that gap (``outreach: hand-over window``). The price: a database failure
in that instant would leave a delivered message unrecorded, and it would be sent again.

A lost connection while awaiting the server's final answer is counted as sent too (RFC 1047's problem).
Deduplication by Message-ID at the receiving end is not relied on, though every message carries a
stable ``Message-ID`` derived from its key, so a downstream system can deduplicate as well.

**Nothing is lost with the broker.** The row, not the broker message, is the record of what must be
sent: a queued row whose task did not run within ``TSUNAGU_OUTBOX_REQUEUE_SECONDS`` (a Redis restart,
a lost message, a killed worker's prefetched tasks), or whose deferral or back-off has expired, is
handed to the broker again by the sweeper. Failed sends go back to ``queued`` with exponential
back-off and end ``failed`` after ``TSUNAGU_OUTBOX_MAX_ATTEMPTS``.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import logging
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce, Greatest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Customer

from . import placeholders
from .delivery import Delivery, DeliveryError, HandedOverUnconfirmed
from .models import (
    Channel,
    Direction,
    FollowUp,
    MessageChannel,
    MessageTemplate,
    OutboundMessage,
    Purpose,
    StaffTask,
    TouchpointType,
)

logger = logging.getLogger(__name__)

Status = OutboundMessage.Status
Skip = OutboundMessage.SkipReason

# The timeline entry of a sent message (a retention touchpoint of the seeded catalogue).
TIMELINE_TYPE_SLUG = "follow-up-email"
KEY_MAX = 150
# Sent rows older than this are recorded on the timeline by the sweeper if the sender could not.
TIMELINE_REPAIR_AFTER = dt.timedelta(minutes=2)
TIMELINE_REPAIR_WINDOW = dt.timedelta(days=7)
SWEEP_CHUNK = 1000
SWEEP_MAX = 200_000
UNSUBSCRIBE_SOURCE = Customer.ConsentSource.UNSUBSCRIBE


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


# --- Quiet hours ----------------------------------------------------------------------------------


def quiet_hours() -> tuple[dt.time, dt.time] | None:
    """The business's quiet hours, from ``TSUNAGU_QUIET_HOURS`` ("21:00-08:00"); None when unset."""
    raw = (_setting("TSUNAGU_QUIET_HOURS", "") or "").strip()
    if not raw:
        return None
    start, end = (dt.time.fromisoformat(part.strip()) for part in raw.split("-", 1))
    return (start, end) if start != end else None


def quiet_until(at: dt.datetime) -> dt.datetime | None:
    """When the quiet hours around ``at`` end (business time zone), or None when ``at`` is not in them."""
    hours = quiet_hours()
    if hours is None:
        return None
    start, end = hours
    local = timezone.localtime(at)
    t = local.time()
    if start > end:  # across midnight: 21:00-08:00
        if t >= start:
            day = local.date() + dt.timedelta(days=1)
        elif t < end:
            day = local.date()
        else:
            return None
    elif start <= t < end:
        day = local.date()
    else:
        return None
    return timezone.make_aware(dt.datetime.combine(day, end))


# --- Unsubscribe links ----------------------------------------------------------------------------

UNSUBSCRIBE_SALT = "touchpoints.outbox.unsubscribe"


@functools.lru_cache(maxsize=4)
def _signing_key(secret: str, salt: str) -> bytes:
    """The HMAC key ``Signer`` derives for every signature (``salted_hmac``), derived once here."""
    return hashlib.sha256((salt + "signer" + secret).encode()).digest()


def unsubscribe_token(customer_id: int) -> str:
    """A signed token naming the customer. It does not expire: links in old mail must keep working.

    Exactly ``Signer(salt=…).sign(b62(id))`` (``customer_id_from_token`` checks it, with the key fallbacks), computed
    without re-deriving the key each time: a broadcast signs one per customer."""
    value = signing.b62_encode(customer_id)
    mac = hmac.new(_signing_key(settings.SECRET_KEY, UNSUBSCRIBE_SALT), value.encode(), hashlib.sha256).digest()
    return f"{value}:{signing.b64_encode(mac).decode()}"


def customer_id_from_token(token: str) -> int | None:
    try:
        return signing.b62_decode(signing.Signer(salt=UNSUBSCRIBE_SALT).unsign(token))
    except (signing.BadSignature, ValueError):
        return None


_TOKEN_SLOT = "TOKEN"  # noqa: S105 (a placeholder in a URL, not a secret)


@functools.lru_cache(maxsize=8)
def _url_around_token(name: str, base: str) -> tuple[str, str]:
    """The URL of ``name`` split around its token (``reverse`` is slow for a broadcast of 100,000)."""
    url = base + reverse(name, args=[_TOKEN_SLOT])
    before, after = url.split(_TOKEN_SLOT)
    return before, after


def unsubscribe_url(customer_id: int) -> str:
    """The confirmation page (a GET shows it; only its POST unsubscribes). For the message body."""
    before, after = _url_around_token("unsubscribe", settings.TSUNAGU_BASE_URL)
    return before + unsubscribe_token(customer_id) + after


def one_click_unsubscribe_url(customer_id: int) -> str:
    """The RFC 8058 endpoint, for the List-Unsubscribe header: mail clients POST to it."""
    before, after = _url_around_token("unsubscribe_one_click", settings.TSUNAGU_BASE_URL)
    return before + unsubscribe_token(customer_id) + after


def unsubscribe_mailto() -> str:
    """The mailbox named in List-Unsubscribe's ``mailto:`` part, or "" for none (the default).

    Only ``TSUNAGU_UNSUBSCRIBE_MAILTO`` names one, and only when someone (or something) reads it: mail
    sent there is not processed by Tsunagu. RFC 8058's one-click HTTPS link is always there and is what
    mail providers use."""
    return (_setting("TSUNAGU_UNSUBSCRIBE_MAILTO", "") or "").strip()


@functools.lru_cache(maxsize=4)
def _message_id_domain(from_email: str) -> str:
    address = from_email.rsplit("<", 1)[-1].rstrip(">").strip()
    return address.rsplit("@", 1)[-1] if "@" in address else "localhost"


def message_id_for(key: str) -> str:
    """A stable Message-ID for an outbox key: every copy of one message carries the same id (its domain is
    the sender's, from ``DEFAULT_FROM_EMAIL``)."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:40]
    return f"<{digest}@{_message_id_domain(settings.DEFAULT_FROM_EMAIL)}>"


@transaction.atomic
def customer_unsubscribe(*, customer: Customer, method: str, now: dt.datetime | None = None) -> int:
    """Withdraw the customer's marketing consent and stop every queued marketing message to them.

    Records when (``consent_at``) and how (``consent_source`` "unsubscribe", ``consent_evidence`` naming
    ``method``: "one-click", "page", "staff"…). Safe to repeat: a second call changes nothing but
    stops any marketing message queued since. A message already being sent is stopped by the
    send's own check just before hand-over. Returns the number of messages stopped.
    """
    now = now or timezone.now()
    consenting = (
        Customer.objects.select_for_update(no_key=True)
        .filter(pk=customer.pk)
        .values_list("marketing_consent", flat=True)
        .first()
    )
    if consenting is None:
        return 0
    if consenting:
        # A direct update of the consent fields only: an unsubscribe must never fail on unrelated validation.
        Customer.objects.filter(pk=customer.pk).update(
            marketing_consent=False,
            consent_at=now,
            consent_source=UNSUBSCRIBE_SOURCE,
            consent_evidence=(_("Unsubscribed (%(method)s)") % {"method": method})[:300],
            updated_at=now,
        )
        customer.marketing_consent, customer.consent_at = False, now
        customer.consent_source = UNSUBSCRIBE_SOURCE
    stopped = OutboundMessage.objects.filter(
        customer_id=customer.pk, purpose=Purpose.MARKETING, status=Status.QUEUED
    ).update(status=Status.SKIPPED, skip_reason=Skip.OPTED_OUT, enqueued_at=None, updated_at=now)
    logger.info("customer unsubscribed id=%s method=%s stopped=%d", customer.pk, method, stopped)
    return stopped


# --- Building messages ----------------------------------------------------------------------------


def skip_reason_for(customer: Customer, *, purpose: str, channel: str) -> str:
    """Why this customer may not get this message now ("" when they may)."""
    if customer.do_not_contact:
        return Skip.DO_NOT_CONTACT
    if purpose == Purpose.MARKETING and not customer.marketing_consent:
        return Skip.OPTED_OUT if customer.consent_source == UNSUBSCRIBE_SOURCE else Skip.NO_CONSENT
    if channel == MessageChannel.EMAIL and not customer.email:
        return Skip.NO_ADDRESS
    if channel in (MessageChannel.SMS, MessageChannel.PHONE) and not customer.phone:
        return Skip.NO_ADDRESS
    return ""


def _address(customer: Customer, channel: str) -> str:
    if channel == MessageChannel.EMAIL:
        return customer.email
    if channel in (MessageChannel.SMS, MessageChannel.PHONE):
        return customer.phone
    return ""


def render_for(
    template: MessageTemplate, customer: Customer, *, context: Mapping[str, Any] | None = None
) -> tuple[str, str, str]:
    """(language, subject, body) of ``template`` for ``customer`` (also the staff preview)."""
    wanted = customer.preferred_language if customer.preferred_language in ("ja", "en") else "ja"
    language, subject, body = template.text_for(wanted)
    subject = placeholders.render(subject, customer=customer, language=language, extra=context)
    body = placeholders.render(body, customer=customer, language=language, extra=context)
    return language, " ".join(subject.split())[:300], body


def message_build(
    *,
    customer: Customer,
    key: str,
    purpose: str,
    now: dt.datetime,
    template: MessageTemplate | None = None,
    subject: str = "",
    body: str = "",
    context: Mapping[str, Any] | None = None,
    channel: str = MessageChannel.EMAIL,
    send_after: dt.datetime | None = None,
    source_app: str = "",
    source_ref: str = "",
    capped: bool = False,
    followup_id: int | None = None,
    broadcast_id: int | None = None,
) -> PreparedMessage:
    """An unsaved outbox row: rendered, with its status decided (queued, or skipped with the reason).

    A template's channel wins over ``channel``; the purpose is marketing when either the caller or the
    template says so. ``enqueued_at`` is set when a send task should be published right away.
    """
    if template is not None:
        channel = template.channel
        if template.purpose == Purpose.MARKETING:
            purpose = Purpose.MARKETING
        language, subject, body = render_for(template, customer, context=context)
    else:
        language = customer.preferred_language if customer.preferred_language in ("ja", "en") else "ja"
        subject = " ".join(placeholders.render(subject, customer=customer, language=language, extra=context).split())
        body = placeholders.render(body, customer=customer, language=language, extra=context)
    reason = skip_reason_for(customer, purpose=purpose, channel=channel)
    if template is not None and not template.is_active and not reason:
        reason = Skip.CANCELLED
    if capped and not reason:
        reason = Skip.CAPPED
    if not reason and channel != MessageChannel.EMAIL:
        reason = Skip.STAFF_TASK
    status = Status.SKIPPED if reason else Status.QUEUED
    not_before = max(send_after or now, now)
    if status == Status.QUEUED and purpose == Purpose.MARKETING:
        until = quiet_until(not_before)
        if until is not None:
            not_before, reason = until, Skip.QUIET_HOURS
    return PreparedMessage(
        customer,
        key=key,
        template_id=template.pk if template is not None else None,
        channel=channel,
        purpose=purpose,
        language=language,
        to_address=_address(customer, channel),
        subject=subject[:300],
        body=body,
        status=status,
        skip_reason=reason,
        next_attempt_at=not_before,
        enqueued_at=now if status == Status.QUEUED and not_before <= now else None,
        source_app=source_app[:30],
        source_ref=source_ref[:100],
        followup_id=followup_id,
        broadcast_id=broadcast_id,
        created_at=now,
        updated_at=now,
    )


_INSERT_FIELDS = [f for f in OutboundMessage._meta.concrete_fields if not f.primary_key]
_INSERT_ATTNAMES = [f.attname for f in _INSERT_FIELDS]


class PreparedMessage:
    """An outbox row built in memory, not yet saved: the attributes of ``OutboundMessage`` without a model
    instance's cost (a broadcast builds 100,000 of them). ``as_model()`` gives the model instance."""

    __slots__ = ("pk", "customer", *_INSERT_ATTNAMES)

    def __init__(self, customer: Customer, **values: Any):
        self.pk = None
        self.customer = customer
        self.customer_id = customer.pk
        self.template_id = self.followup_id = self.broadcast_id = self.touchpoint_id = None
        self.claim_token = self.claimed_at = self.handed_over_at = self.sent_at = self.enqueued_at = None
        self.attempts = 0
        self.last_error = ""
        for name, value in values.items():
            setattr(self, name, value)

    def row(self) -> list[Any]:
        return [getattr(self, name) for name in _INSERT_ATTNAMES]

    def as_model(self) -> OutboundMessage:
        message = OutboundMessage(**{name: getattr(self, name) for name in _INSERT_ATTNAMES})
        message.customer = self.customer
        return message


def _check_key(key: str) -> None:
    if not key or not isinstance(key, str) or len(key) > KEY_MAX:
        raise ValueError(f"an outbox key is a non-empty string of at most {KEY_MAX} characters")


def message_enqueue(
    *,
    customer: Customer,
    key: str,
    purpose: str,
    template: MessageTemplate | None = None,
    template_slug: str | None = None,
    subject: str = "",
    body: str = "",
    context: dict | None = None,
    channel: str = "email",
    send_after: dt.datetime | None = None,
    source_app: str = "",
    source_ref: str = "",
    now: dt.datetime | None = None,
) -> OutboundMessage:
    """Put one message to ``customer`` in the outbox and have it sent after commit. Idempotent on ``key``.

    - ``key``: unique and stable for this message (``"loyalty:birthday:<customer>:<year>"``, at most 150
      characters). A second call with the same key returns the first row and does nothing else,
      whatever its other arguments.
    - ``purpose``: ``"marketing"`` (needs ``marketing_consent`` and not ``do_not_contact``; gets the
      List-Unsubscribe headers; waits out quiet hours) or ``"transactional"`` (needs only not
      ``do_not_contact`` and an address). A template whose purpose is marketing makes the message marketing.
    - the text: a ``template`` (or its ``template_slug``; the template's channel is used), or ``subject``
      and ``body``. Either way ``{placeholders}`` are filled in for the customer, in their language,
      with ``context`` adding or overriding values (``{"points": 120}``); nothing else is interpreted.
    - ``channel``: "email" is sent; "line", "sms" and "phone" become a staff task for the customer's
      owner until a provider is configured (the row is then ``skipped`` with reason ``staff_task``).
    - ``send_after``: not before this time (a row, not a broker countdown).
    - ``source_app`` / ``source_ref``: who asked ("loyalty", "reward:42"), shown in the outbox.

    Consent is checked here and again at sending. A customer who may not receive it gets a ``skipped``
    row with the reason (no_consent, opted_out, do_not_contact, no_address, cancelled for an inactive
    template), so the caller's key is used up either way. Returns the row. Raises ``ValueError`` for
    a bad key, purpose or channel and ``ValidationError`` for an unknown template slug or empty text.
    """
    _check_key(key)
    if purpose not in Purpose.values:
        raise ValueError(f"unknown purpose {purpose!r}")
    if channel not in MessageChannel.values:
        raise ValueError(f"unknown channel {channel!r}")
    existing = OutboundMessage.objects.filter(key=key).first()
    if existing is not None:
        return existing
    if template is None and template_slug:
        template = MessageTemplate.objects.filter(slug=template_slug).first()
        if template is None:
            raise ValidationError(_("There is no message template %(slug)s.") % {"slug": template_slug})
    if template is None and not (body or "").strip():
        raise ValidationError(_("A message needs a template or a body."))
    now = now or timezone.now()
    with transaction.atomic():
        message = message_build(
            customer=customer,
            key=key,
            purpose=purpose,
            now=now,
            template=template,
            subject=subject,
            body=body,
            context=context,
            channel=channel,
            send_after=send_after,
            source_app=source_app,
            source_ref=source_ref,
        ).as_model()
        try:
            with transaction.atomic():
                message.save(force_insert=True)
        except IntegrityError:
            return OutboundMessage.objects.get(key=key)
        if message.skip_reason == Skip.STAFF_TASK:
            staff_tasks_for_messages([message], now=now)
        if message.enqueued_at is not None:
            publish_on_commit([message.pk])
    logger.info(
        "message enqueued id=%s key=%s status=%s reason=%s", message.pk, key, message.status, message.skip_reason
    )
    return message


def staff_tasks_for_messages(
    messages: Sequence[OutboundMessage | PreparedMessage], *, now: dt.datetime
) -> list[StaffTask]:
    """A task per message on a channel without a provider: the customer's owner sends it by hand."""
    tasks = [
        StaffTask(
            customer_id=m.customer_id,
            title=(
                _("Send by %(channel)s: %(subject)s")
                % {"channel": MessageChannel(m.channel).label, "subject": m.subject}
            )[:200],
            note=m.body,
            channel=m.channel if m.channel in Channel.values else Channel.OTHER,
            assignee_id=m.customer.owner_id,
            due_at=max(m.next_attempt_at, now),
            message_id=m.pk,
            created_at=now,
            updated_at=now,
        )
        for m in messages
    ]
    return StaffTask.objects.bulk_create(tasks)


def messages_insert(messages: Sequence[PreparedMessage], *, now: dt.datetime) -> list[int]:
    """Insert built rows, ignoring keys already in the outbox; create their staff tasks; return the ids
    of the new rows to publish now (those with ``enqueued_at``). Publishing is the caller's, on commit.

    On PostgreSQL the rows are COPYed into a temporary table and moved with ``INSERT … ON CONFLICT (key)
    DO NOTHING RETURNING``: one round trip per chunk, and the answer names exactly the rows inserted here
    (a key another run or a concurrent writer holds is left alone)."""
    if not messages:
        return []
    by_key = {m.key: m for m in messages}
    inserted = _insert_copy(list(by_key.values())) if connection.vendor == "postgresql" else _insert_bulk(by_key)
    fresh: list[PreparedMessage] = []
    for key, pk in inserted:
        message = by_key[key]
        message.pk = pk
        fresh.append(message)
    handed_to_staff = [m for m in fresh if m.skip_reason == Skip.STAFF_TASK]
    if handed_to_staff:
        staff_tasks_for_messages(handed_to_staff, now=now)
    return sorted(m.pk for m in fresh if m.enqueued_at is not None)


def _insert_copy(messages: list[PreparedMessage]) -> list[tuple[str, int]]:
    quote = connection.ops.quote_name
    table = quote(OutboundMessage._meta.db_table)
    columns = ", ".join(quote(f.column) for f in _INSERT_FIELDS)
    inserted: list[tuple[str, int]] = []
    with connection.cursor() as cursor, connection.wrap_database_errors, transaction.atomic():
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS outbox_incoming ON COMMIT DELETE ROWS "  # noqa: S608
            f"AS SELECT {columns} FROM {table} WITH NO DATA"
        )
        cursor.execute("TRUNCATE outbox_incoming")
        with cursor.cursor.copy(f"COPY outbox_incoming ({columns}) FROM STDIN") as copy:
            for message in messages:
                # psycopg adapts these types itself (aware datetimes, UUIDs, ints, strings, None).
                copy.write_row(message.row())
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT {columns} FROM outbox_incoming "  # noqa: S608
            f"ON CONFLICT (key) DO NOTHING RETURNING key, id"
        )
        inserted = [(key, pk) for key, pk in cursor.fetchall()]
        cursor.execute("TRUNCATE outbox_incoming")
    return inserted


def _insert_bulk(by_key: dict[str, PreparedMessage]) -> list[tuple[str, int]]:
    taken = set(OutboundMessage.objects.filter(key__in=list(by_key)).values_list("key", flat=True))
    new = {key: m for key, m in by_key.items() if key not in taken}
    if not new:
        return []
    # ignore_conflicts covers a concurrent writer of the same keys; created_at then tells its rows from ours.
    OutboundMessage.objects.bulk_create([m.as_model() for m in new.values()], ignore_conflicts=True, batch_size=2000)
    stored = OutboundMessage.objects.filter(key__in=list(new)).values_list("key", "pk", "created_at")
    return [(key, pk) for key, pk, created_at in stored if created_at == new[key].created_at]


# --- Publishing send tasks ------------------------------------------------------------------------

PUBLISH_RETRY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}


def publish(message_ids: Sequence[int]) -> int:
    """Hand send tasks to the broker, ``TSUNAGU_OUTBOX_BATCH`` ids each. Never raises: a message that
    cannot be published stays queued with ``enqueued_at`` cleared, and the sweeper publishes it later."""
    from .tasks import message_send_task, messages_send_task

    size = max(1, _setting("TSUNAGU_OUTBOX_BATCH", 100))
    ids = list(message_ids)
    published = 0
    for start in range(0, len(ids), size):
        chunk = ids[start : start + size]
        try:
            if len(chunk) == 1:
                message_send_task.apply_async(args=[chunk[0]], retry=True, retry_policy=PUBLISH_RETRY)
            else:
                messages_send_task.apply_async(args=[chunk], retry=True, retry_policy=PUBLISH_RETRY)
            published += len(chunk)
        except Exception:
            logger.exception("outbox: could not publish %d send task(s); the sweeper will retry", len(ids) - start)
            OutboundMessage.objects.filter(pk__in=ids[start:], status=Status.QUEUED).update(enqueued_at=None)
            break
    return published


def publish_on_commit(message_ids: Sequence[int]) -> None:
    ids = list(message_ids)
    if ids:
        transaction.on_commit(lambda: publish(ids))


# --- Sending --------------------------------------------------------------------------------------


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
    if message.purpose == Purpose.MARKETING:
        unsubscribe = f"<{one_click_unsubscribe_url(message.customer_id)}>"
        mailbox = unsubscribe_mailto()
        if mailbox:  # only when someone reads that mailbox (TSUNAGU_UNSUBSCRIBE_MAILTO)
            token = unsubscribe_token(message.customer_id)
            unsubscribe += f", <mailto:{mailbox}?subject={quote('unsubscribe ' + token)}>"
        headers["List-Unsubscribe"] = unsubscribe
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
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
    messages = list(
        OutboundMessage.objects.filter(claim_token=token, status=Status.SENDING)
        .select_related("customer")
        # The frequency cap of the rule or broadcast that made the message (0: none).
        .annotate(cap_days=Coalesce("followup__rule__cap_days", "broadcast__cap_days", Value(0)))
        .order_by("pk")
    )
    report.claimed = len(messages)

    # Settle what will not be sent now: consent or address gone, quiet hours.
    skipped: dict[str, list[int]] = defaultdict(list)
    deferred: dict[dt.datetime, list[int]] = defaultdict(list)
    to_send: list[OutboundMessage] = []
    for message in messages:
        reason = skip_reason_for(message.customer, purpose=message.purpose, channel=message.channel)
        if not reason and message.channel != MessageChannel.EMAIL:
            reason = Skip.STAFF_TASK
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

    if to_send:
        own = delivery is None
        delivery = delivery or Delivery()
        try:
            _send_all(to_send, token=token, delivery=delivery, clock=clock, report=report)
        finally:
            if own:
                delivery.close()
    sent = [m for m in to_send if m.pk in set(report.sent_ids)]
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
            reason = skip_reason_for(customer, purpose=message.purpose, channel=message.channel) or Skip.CANCELLED
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


# --- Timeline -------------------------------------------------------------------------------------


def messages_record_timeline(messages: Sequence[OutboundMessage]) -> int:
    """Record each sent message on its customer's timeline (a retention touchpoint, outbound), once:
    the touchpoint's idempotency key derives from the outbox key. Returns how many were linked."""
    from .services import TouchpointBatchInvalid, TouchpointData, touchpoint_record_batch

    if not messages:
        return 0
    touchpoint_type = TouchpointType.objects.filter(slug=TIMELINE_TYPE_SLUG, is_active=True).first()
    if touchpoint_type is None:
        logger.warning(
            "outbox: touchpoint type %r missing or inactive; sent mail is not on the timeline", TIMELINE_TYPE_SLUG
        )
        return 0
    linked = 0
    for start in range(0, len(messages), 500):
        chunk = messages[start : start + 500]
        items = [
            TouchpointData(
                customer_id=m.customer_id,
                touchpoint_type=touchpoint_type,
                channel=m.channel if m.channel in Channel.values else Channel.OTHER,
                direction=Direction.OUTBOUND,
                occurred_at=min(m.sent_at or timezone.now(), timezone.now()),
                summary=m.subject[:1000],
                metadata=_timeline_metadata(m),
                idempotency_key=f"outbox:{m.key}",
            )
            for m in chunk
        ]
        try:
            with transaction.atomic():
                touchpoints = touchpoint_record_batch(items=items, source="system")
                for message, touchpoint in zip(chunk, touchpoints, strict=True):
                    message.touchpoint_id = touchpoint.pk
                _link_touchpoints(chunk)
                linked += len(chunk)
        except (TouchpointBatchInvalid, ValidationError, IntegrityError):
            logger.exception("outbox: could not record %d sent message(s) on the timeline", len(chunk))
    return linked


def _link_touchpoints(messages: Sequence[OutboundMessage]) -> None:
    """Set each message's ``touchpoint`` in one statement (bulk_update's CASE is slow for a hot path)."""
    if connection.vendor != "postgresql":
        OutboundMessage.objects.bulk_update(messages, ["touchpoint"])
        return
    table = connection.ops.quote_name(OutboundMessage._meta.db_table)
    values = ", ".join(["(%s::bigint, %s::bigint)"] * len(messages))
    params = [v for m in messages for v in (m.pk, m.touchpoint_id)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS m SET touchpoint_id = v.tp FROM (VALUES {values}) AS v(id, tp) WHERE m.id = v.id",  # noqa: S608
            params,
        )


def _timeline_metadata(message: OutboundMessage) -> dict[str, Any]:
    metadata: dict[str, Any] = {"outbox": message.pk, "purpose": message.purpose}
    if message.template_id:
        metadata["template"] = message.template_id
    if message.followup_id:
        metadata["followup"] = message.followup_id
        rule_id = message.source_ref.removeprefix("rule:") if message.source_ref.startswith("rule:") else ""
        if rule_id.isdigit():
            metadata["rule"] = int(rule_id)
    if message.broadcast_id:
        metadata["broadcast"] = message.broadcast_id
    if message.source_app:
        metadata["source_app"] = message.source_app
    return metadata


# --- The sweeper ----------------------------------------------------------------------------------


@dataclass
class SweepReport:
    recovered_resend: int = 0
    recovered_sent: int = 0
    published: int = 0
    timeline: int = 0


def _stale_tokens(now: dt.datetime, timeout: dt.timedelta) -> list[uuid.UUID]:
    """Send attempts holding rows in ``sending`` that have shown no progress for ``timeout``."""
    candidates = set(
        OutboundMessage.objects.filter(status=Status.SENDING, claimed_at__lt=now - timeout)
        .values_list("claim_token", flat=True)
        .distinct()
    )
    stale = []
    for token in candidates:
        rows = OutboundMessage.objects.filter(claim_token=token).values_list("claimed_at", "handed_over_at", "sent_at")
        latest = max(max(t for t in row if t is not None) for row in rows)
        if latest < now - timeout:
            stale.append(token)
    return stale


def outbox_recover(*, now: dt.datetime | None = None) -> tuple[int, int]:
    """Settle rows left in ``sending`` by a dead send attempt (module docstring). Returns (resend, sent)."""
    now = now or timezone.now()
    timeout = dt.timedelta(seconds=_setting("TSUNAGU_OUTBOX_CLAIM_TIMEOUT", 300))
    resend = sent = 0
    for token in _stale_tokens(now, timeout):
        with transaction.atomic():
            sent += OutboundMessage.objects.filter(
                claim_token=token, status=Status.SENDING, handed_over_at__isnull=False
            ).update(
                status=Status.SENT,
                sent_at=F("handed_over_at"),
                last_error=_(
                    "Recovered: the sender stopped after handing the message to the mail server; counted as sent, "
                    "not resent."
                ),
                updated_at=now,
            )
            resend += OutboundMessage.objects.filter(
                claim_token=token, status=Status.SENDING, handed_over_at__isnull=True
            ).update(
                status=Status.QUEUED,
                claim_token=None,
                next_attempt_at=now,
                enqueued_at=None,
                last_error=_("Recovered: the sender stopped before the mail server took the message; sent again."),
                updated_at=now,
            )
    if resend or sent:
        logger.warning("outbox: recovered %d message(s) to resend and %d counted as sent", resend, sent)
    return resend, sent


def outbox_publish_due(*, now: dt.datetime | None = None, limit: int = SWEEP_MAX) -> int:
    """Publish send tasks for queued rows that are due and have no task pending (or whose task is lost)."""
    now = now or timezone.now()
    requeue = dt.timedelta(seconds=_setting("TSUNAGU_OUTBOX_REQUEUE_SECONDS", 900))
    published = 0
    while published < limit:
        with transaction.atomic():
            ids = list(
                OutboundMessage.objects.filter(status=Status.QUEUED, next_attempt_at__lte=now)
                .filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=now - requeue))
                .order_by("next_attempt_at", "id")
                .select_for_update(skip_locked=True)
                .values_list("pk", flat=True)[:SWEEP_CHUNK]
            )
            if not ids:
                break
            OutboundMessage.objects.filter(pk__in=ids).update(enqueued_at=now)
        publish(sorted(ids))
        published += len(ids)
        if len(ids) < SWEEP_CHUNK:
            break
    return published


def outbox_repair_timeline(*, now: dt.datetime | None = None) -> int:
    now = now or timezone.now()
    messages = list(
        OutboundMessage.objects.filter(
            status=Status.SENT,
            touchpoint__isnull=True,
            sent_at__lt=now - TIMELINE_REPAIR_AFTER,
            sent_at__gte=now - TIMELINE_REPAIR_WINDOW,
        )
        .exclude(channel__in=[MessageChannel.LINE, MessageChannel.SMS, MessageChannel.PHONE])
        .order_by("sent_at")[:SWEEP_CHUNK]
    )
    return messages_record_timeline(messages)


def outbox_sweep(*, now: dt.datetime | None = None) -> SweepReport:
    """The periodic safety net: recover dead send attempts, publish what is due, fill in the timeline.
    Safe to run twice and from two schedulers at once."""
    now = now or timezone.now()
    report = SweepReport()
    report.recovered_resend, report.recovered_sent = outbox_recover(now=now)
    report.published = outbox_publish_due(now=now)
    report.timeline = outbox_repair_timeline(now=now)
    return report


# --- Staff actions on a message -------------------------------------------------------------------


@transaction.atomic
def message_retry(*, message: OutboundMessage, by=None, now: dt.datetime | None = None) -> bool:
    """Give a failed message another round of attempts. False when it was not failed."""
    now = now or timezone.now()
    changed = OutboundMessage.objects.filter(pk=message.pk, status=Status.FAILED).update(
        status=Status.QUEUED, attempts=0, next_attempt_at=now, enqueued_at=now, last_error="", updated_at=now
    )
    if changed:
        publish_on_commit([message.pk])
        logger.info("outbox: message %s retried by=%s", message.pk, getattr(by, "pk", None))
    return bool(changed)


@transaction.atomic
def message_cancel(*, message: OutboundMessage, by=None, now: dt.datetime | None = None) -> bool:
    """Stop a queued message. False when it was no longer queued."""
    now = now or timezone.now()
    changed = OutboundMessage.objects.filter(pk=message.pk, status=Status.QUEUED).update(
        status=Status.SKIPPED, skip_reason=Skip.CANCELLED, enqueued_at=None, updated_at=now
    )
    if changed:
        logger.info("outbox: message %s cancelled by=%s", message.pk, getattr(by, "pk", None))
    return bool(changed)


# --- Templates ------------------------------------------------------------------------------------


@transaction.atomic
def message_template_save(*, template: MessageTemplate, by=None) -> MessageTemplate:
    """Create or edit a template (the form checked the placeholders). A slug never changes once created."""
    if template.pk is None and by is not None:
        template.created_by = by
    elif template.pk is not None:
        template.slug = MessageTemplate.objects.values_list("slug", flat=True).get(pk=template.pk)
    template.name = " ".join((template.name or "").split())
    if template.purpose == Purpose.TRANSACTIONAL and not may_send_service_messages(by):
        was = MessageTemplate.objects.filter(pk=template.pk).values_list("purpose", flat=True).first()
        if was != Purpose.TRANSACTIONAL:  # its text may still be edited; making one is a manager's call
            raise ValidationError({"purpose": _("Only a manager may make a template a service message.")})
    template.full_clean(exclude=["created_by"])
    template.save()
    logger.info("message template saved id=%s by=%s", template.pk, getattr(by, "pk", None))
    return template


def may_send_service_messages(user) -> bool:
    """Service (transactional) messages reach customers without marketing consent: managers alone choose them."""
    return user is not None and user.has_perm("touchpoints.send_service_message")


def sendable_templates(*, user, purposes: tuple[str, ...] | None = None) -> list[MessageTemplate]:
    """The active templates a rule or a broadcast may send: knowing only the customer, not those that need the
    sending code's context (a ticket's reference, a survey's link); service messages only for managers."""
    from . import placeholders

    if purposes is None:
        purposes = (Purpose.MARKETING,)
        if may_send_service_messages(user):
            purposes += (Purpose.TRANSACTIONAL,)
    candidates = MessageTemplate.objects.filter(is_active=True, purpose__in=purposes).order_by("name", "id")
    return [t for t in candidates if not placeholders.needs_context(t)]
