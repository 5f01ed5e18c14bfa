"""Sending LINE messages from the outbox: push to one customer, multicast (up to 500) to many, reply while a
customer's reply token is fresh. Called by ``messages_send`` with the rows it claimed and checked.

Exactly once: before a request leaves, its rows get the request's ``X-Line-Retry-Key`` (derived from their
outbox keys) and ``handed_over_at``, committed. Whatever happens next (no answer, a 5xx, a killed worker whose
rows the sweeper queues again), the rows are sent again with the same key and the same recipients: LINE
answers 409 to a key it accepted before, which marks them sent, never delivered twice. A reply has no retry
key but its token works once: a reply handed over is counted as sent, as an email handed to the mail server is.

A 429 stops every worker (the shared throttle in ``line.client``) until LINE's Retry-After has passed.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING

from django.conf import settings
from django.db.models import F
from django.db.models.functions import Greatest
from django.utils.translation import gettext as _

from customers import consent
from customers.models import Customer

from ..line import client as line
from ..line.models import LineUser
from ..models import MessageChannel, OutboundMessage, Purpose
from .policy import Skip, Status, _setting, line_users_attach

if TYPE_CHECKING:
    from .send import SendReport

logger = logging.getLogger(__name__)


def _backoff(attempts: int) -> dt.timedelta:
    base = max(1, _setting("TSUNAGU_OUTBOX_RETRY_SECONDS", 300))
    return dt.timedelta(seconds=base * 2 ** max(0, attempts - 1))


def _requests(messages: list[OutboundMessage], now: dt.datetime) -> list[tuple[str, list[OutboundMessage]]]:
    """The API calls for these rows: ("retry", rows sharing a retry key), ("reply", [row]), ("push", [row]) or
    ("multicast", up to 500 rows with the same message)."""
    calls: list[tuple[str, list[OutboundMessage]]] = []
    retried: dict[uuid.UUID, list[OutboundMessage]] = defaultdict(list)
    same: dict[tuple[str, str, str], list[OutboundMessage]] = defaultdict(list)
    fresh_after = now - dt.timedelta(seconds=settings.LINE_REPLY_TOKEN_SECONDS)
    for message in messages:
        user = message.customer.__dict__.get("_line_user")
        if message.retry_key is not None:
            retried[message.retry_key].append(message)
        elif (
            message.purpose == Purpose.TRANSACTIONAL
            and user is not None
            and user.reply_token
            and user.reply_token_at
            and user.reply_token_at >= fresh_after
        ):
            calls.append(("reply", [message]))
        else:
            same[(message.body, message.link_url, message.link_label)].append(message)
    calls.extend(("retry", rows) for rows in retried.values())
    for rows in same.values():
        for start in range(0, len(rows), line.MULTICAST_MAX):
            chunk = rows[start : start + line.MULTICAST_MAX]
            calls.append(("push" if len(chunk) == 1 else "multicast", chunk))
    return calls


def _recheck(rows: list[OutboundMessage], token: uuid.UUID, now: dt.datetime, report: SendReport) -> list:
    """The last check before a request: consent, do-not-contact and the LINE follow, read again (an unfollow a
    moment ago stops the message here). Rows that may no longer be sent are skipped with the reason."""
    from .enqueue import skip_reason_for

    customers = {
        c.pk: c
        for c in Customer.objects.filter(pk__in=[m.customer_id for m in rows]).only(
            "id", "do_not_contact", "marketing_consent", "consent_source", "email"
        )
    }
    line_users_attach(customers.values())
    consent.preferences_attach(customers.values())
    keep, skipped = [], defaultdict(list)
    for message in rows:
        customer = customers.get(message.customer_id)
        reason = (
            skip_reason_for(
                customer,
                purpose=message.purpose,
                channel=MessageChannel.LINE,
                source_app=message.source_app,
                source_ref=message.source_ref,
            )
            if customer
            else Skip.CANCELLED
        )
        if reason:
            skipped[reason].append(message.pk)
            continue
        message.customer.__dict__["_line_user"] = customer.__dict__["_line_user"]
        keep.append(message)
    for reason, pks in skipped.items():
        report.skipped += OutboundMessage.objects.filter(pk__in=pks, claim_token=token, status=Status.SENDING).update(
            status=Status.SKIPPED, skip_reason=reason, claim_token=None, handed_over_at=None, updated_at=now
        )
    return keep


def _hand_over(rows: list[OutboundMessage], token: uuid.UUID, key: uuid.UUID | None, now: dt.datetime) -> list:
    """Commit the request's retry key and hand-over time on its rows (before the request leaves); the rows
    still ours (a row the sweeper took back meanwhile is left to it)."""
    pks = OutboundMessage.objects.filter(
        pk__in=[m.pk for m in rows], claim_token=token, status=Status.SENDING
    ).values_list("pk", flat=True)
    ours = set(pks)
    OutboundMessage.objects.filter(pk__in=ours, claim_token=token).update(
        retry_key=key, handed_over_at=now, updated_at=now
    )
    return [m for m in rows if m.pk in ours]


def _mark_sent(rows: list[OutboundMessage], token: uuid.UUID, now: dt.datetime, note: str = "") -> int:
    return OutboundMessage.objects.filter(pk__in=[m.pk for m in rows], claim_token=token, status=Status.SENDING).update(
        status=Status.SENT, sent_at=now, last_error=note, updated_at=now
    )


def _release(rows: list[OutboundMessage], token: uuid.UUID, until: dt.datetime, note: str, now: dt.datetime) -> int:
    """Give rows back to the queue, untried (the attempt is not counted); their retry key stays."""
    if not rows:
        return 0
    return OutboundMessage.objects.filter(pk__in=[m.pk for m in rows], claim_token=token, status=Status.SENDING).update(
        status=Status.QUEUED,
        attempts=Greatest(F("attempts") - 1, 0),
        claim_token=None,
        handed_over_at=None,
        enqueued_at=None,
        next_attempt_at=until,
        last_error=note[:2000],
        updated_at=now,
    )


def _retry_or_fail(rows: list[OutboundMessage], token: uuid.UUID, error: line.LineError, now: dt.datetime) -> str:
    max_attempts = _setting("TSUNAGU_OUTBOX_MAX_ATTEMPTS", 6)
    attempts = max(m.attempts for m in rows)
    final = error.permanent or attempts >= max_attempts
    OutboundMessage.objects.filter(pk__in=[m.pk for m in rows], claim_token=token).update(
        status=Status.FAILED if final else Status.QUEUED,
        next_attempt_at=now if final else now + _backoff(attempts),
        last_error=str(error)[:2000],
        claim_token=None,
        handed_over_at=None,
        enqueued_at=None,
        updated_at=now,
    )
    logger.warning("outbox: %d LINE message(s) %s: %s", len(rows), "failed" if final else "will be retried", error)
    return Status.FAILED if final else Status.QUEUED


def line_send_all(
    messages: list[OutboundMessage], *, token: uuid.UUID, clock: Callable[[], dt.datetime], report: SendReport
) -> None:
    """Send the LINE rows this attempt claimed (already checked for consent, quiet hours and the cap)."""
    now = clock()
    line_users_attach([m.customer for m in messages])
    calls = _requests(messages, now)
    until = line.blocked_until(now)
    if until is not None:
        report.released += _release(messages, token, until, _("LINE asked us to wait (429)."), now)
        return
    with line.Client() as api:
        for index, (kind, rows) in enumerate(calls):
            now = clock()
            rows = _recheck(rows, token, now, report)
            if not rows:
                continue
            if kind == "reply":
                user: LineUser = rows[0].customer.__dict__["_line_user"]
                reply_token = user.reply_token
                # The token works once: take it before using it, so a second sender pushes instead.
                taken = LineUser.objects.filter(pk=user.pk, reply_token=reply_token).update(reply_token="")
                if not taken:
                    kind = "push"
            key = None if kind == "reply" else (rows[0].retry_key or line.retry_key_for([m.key for m in rows]))
            rows = _hand_over(rows, token, key, now)
            if not rows:
                continue
            payload = line.message_objects(rows[0].body, link_url=rows[0].link_url, link_label=rows[0].link_label)
            users = [m.customer.__dict__["_line_user"].user_id for m in rows]
            note = ""
            try:
                if kind == "reply":
                    api.reply(reply_token, payload)
                elif len(rows) == 1:
                    api.push(users[0], payload, retry_key=key)
                else:
                    api.multicast(users, payload, retry_key=key)
            except line.LineError as exc:
                now = clock()
                if exc.already_accepted:
                    note = _("LINE had accepted this request before (409 on its retry key); not sent again.")
                elif exc.status == 429:
                    until = line.block(exc.retry_after or line.DEFAULT_RETRY_AFTER, now=now)
                    rest = [m for _kind, later in calls[index:] for m in later]
                    report.released += _release(rest, token, until, str(exc), now)
                    return
                elif kind == "reply" and 400 <= exc.status < 500:
                    # The token had expired: push instead, at once.
                    report.released += _release(rows, token, now, str(exc), now)
                    continue
                else:
                    if _retry_or_fail(rows, token, exc, now) == Status.FAILED:
                        report.failed += len(rows)
                    else:
                        report.retrying += len(rows)
                    continue
            at = clock()
            marked = _mark_sent(rows, token, at, note)
            for message in rows:
                message.sent_at = at
                report.sent_ids.append(message.pk)
            report.sent += marked
