"""Building messages and writing them to the outbox, once per key (``message_enqueue``, ``messages_insert``)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from customers import consent
from customers.models import Customer
from touchpoints.models import Channel

from .. import channels, placeholders
from ..models import MessageChannel, MessageTemplate, OutboundMessage, Purpose, StaffTask
from .policy import (
    KEY_MAX,
    PREFERENCE_CHANNELS,
    UNSUBSCRIBE_SOURCE,
    Skip,
    Status,
    line_skip_reason,
    preference_purpose,
    quiet_until,
)
from .publishing import publish_on_commit

logger = logging.getLogger(__name__)


def skip_reason_for(
    customer: Customer, *, purpose: str, channel: str, source_app: str = "", source_ref: str = ""
) -> str:
    """Why this customer may not get this message now ("" when they may). ``source_app``/``source_ref`` name what
    the message is (a greeting, a survey), for the customer's contact preferences (``customers.consent``)."""
    if customer.do_not_contact:
        return Skip.DO_NOT_CONTACT
    if purpose == Purpose.MARKETING and not customer.marketing_consent:
        return Skip.OPTED_OUT if customer.consent_source == UNSUBSCRIBE_SOURCE else Skip.NO_CONSENT
    topic = preference_purpose(purpose=purpose, source_app=source_app, source_ref=source_ref)
    if topic is not None and channel in PREFERENCE_CHANNELS and not consent.allows(customer, channel, topic):
        return Skip.OPTED_OUT
    if channel == MessageChannel.LINE:
        # Without a provider a LINE message is a staff task: the owner knows how to reach the customer.
        return line_skip_reason(customer, purpose=purpose) if channels.get(channel).provider_ready() else ""
    via = channels.get(channel)
    if via.needs_address and not via.address_of(customer):
        return Skip.NO_ADDRESS
    return ""


def _address(customer: Customer, channel: str) -> str:
    return channels.get(channel).address_of(customer)


def render_for(
    template: MessageTemplate, customer: Customer, *, context: Mapping[str, Any] | None = None
) -> tuple[str, str, str]:
    """(language, subject, body) of ``template`` for ``customer`` (also the staff preview)."""
    wanted = customer.preferred_language if customer.preferred_language in ("ja", "en") else "ja"
    language, subject, body = template.text_for(wanted)
    subject = placeholders.render(subject, customer=customer, language=language, extra=context)
    body = placeholders.render(body, customer=customer, language=language, extra=context)
    return language, " ".join(subject.split())[:300], body


def line_reachable(customer: Customer) -> bool:
    """Whether a message to ``customer`` can go by LINE now (configured, linked, following, not blocked)."""
    return channels.get(MessageChannel.LINE).provider_ready() and not line_skip_reason(
        customer, purpose=Purpose.TRANSACTIONAL
    )


def render_line(
    template: MessageTemplate, customer: Customer, *, context: Mapping[str, Any] | None = None
) -> tuple[str, str, str, str, str]:
    """(language, subject, text, link, link label) of ``template``'s LINE version for ``customer``; the subject
    is the text's first line (what the outbox and the timeline show)."""
    language = customer.preferred_language if customer.preferred_language in ("ja", "en") else "ja"
    text, label = template.line_text_for(language)
    text = placeholders.render(text, customer=customer, language=language, extra=context)
    link = placeholders.render(template.line_button_url, customer=customer, language=language, extra=context)
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    return language, first_line.strip()[:100], text, link.strip(), label


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
    link_url = link_label = ""
    if template is not None:
        channel = template.channel
        if template.line_first:
            channel = MessageChannel.LINE if line_reachable(customer) else MessageChannel.EMAIL
        if template.purpose == Purpose.MARKETING:
            purpose = Purpose.MARKETING
        if channel == MessageChannel.LINE:
            language, subject, body, link_url, link_label = render_line(template, customer, context=context)
        else:
            language, subject, body = render_for(template, customer, context=context)
    else:
        language = customer.preferred_language if customer.preferred_language in ("ja", "en") else "ja"
        subject = " ".join(placeholders.render(subject, customer=customer, language=language, extra=context).split())
        body = placeholders.render(body, customer=customer, language=language, extra=context)
    reason = skip_reason_for(customer, purpose=purpose, channel=channel, source_app=source_app, source_ref=source_ref)
    if template is not None and not template.is_active and not reason:
        reason = Skip.CANCELLED
    if capped and not reason:
        reason = Skip.CAPPED
    if not reason and channels.get(channel).handed_to_staff():
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
        link_url=link_url[:500],
        link_label=link_label[:40],
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
        self.retry_key = None
        self.link_url = self.link_label = ""
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
