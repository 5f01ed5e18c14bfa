"""LINE's webhook events: stored once (by ``webhookEventId``), then worked through by a task.

``follow`` records LINE consent with its proof (the event's id and time); ``unfollow`` (the user blocked the
account) withdraws it and stops the customer's queued LINE messages; ``message`` from a linked customer is
handed to the inbound handlers (feedback threads it into a ticket), from an unlinked user it is kept on the
unlinked contact staff may link by hand; ``accountLink`` with a nonce Tsunagu issued links the customer.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from collections.abc import Iterable

from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Customer

from .. import inbound
from ..models import MessageChannel, OutboundMessage
from . import client as line
from .models import LineLinkRequest, LineUser, LineWebhookEvent

logger = logging.getLogger(__name__)

PROCESS_CHUNK = 200


def line_events_store(events: Iterable[dict], *, now: dt.datetime | None = None) -> list[int]:
    """Store the events not stored before (by ``webhookEventId``); the ids of the new rows. One statement:
    ``INSERT … ON CONFLICT DO NOTHING RETURNING``, so a redelivery (or two at once) stores nothing."""
    now = now or timezone.now()
    rows = []
    for event in events:
        if not isinstance(event, dict):
            continue
        event_id = str(event.get("webhookEventId") or "")[:64]
        if not event_id:
            continue
        rows.append(
            LineWebhookEvent(event_id=event_id, kind=str(event.get("type") or "")[:30], payload=event, received_at=now)
        )
    if not rows:
        return []
    table = connection.ops.quote_name(LineWebhookEvent._meta.db_table)
    values = ", ".join(["(%s, %s, %s::jsonb, %s, '')"] * len(rows))
    params = []
    for row in rows:
        params += [row.event_id, row.kind, json.dumps(row.payload), now]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (event_id, kind, payload, received_at, error) VALUES {values} "  # noqa: S608
            "ON CONFLICT (event_id) DO NOTHING RETURNING id",
            params,
        )
        return [pk for (pk,) in cursor.fetchall()]


def _at(event: dict) -> dt.datetime:
    try:
        return dt.datetime.fromtimestamp(int(event["timestamp"]) / 1000, tz=dt.UTC)
    except (KeyError, TypeError, ValueError, OverflowError):
        return timezone.now()


def _user(event: dict) -> LineUser | None:
    source = event.get("source") or {}
    user_id = str(source.get("userId") or "")
    if not user_id.startswith("U") or len(user_id) > 64:
        return None  # a group or room without a user: nothing to keep
    user, _created = LineUser.objects.get_or_create(provider=line.provider(), user_id=user_id)
    return LineUser.objects.select_for_update().get(pk=user.pk)


def line_events_process(*, event_ids: Iterable[int] | None = None, now: dt.datetime | None = None) -> int:
    """Work through stored events not yet processed (these, or any pending); safe to run twice and from two
    workers (rows are claimed with SKIP LOCKED). Returns how many were processed."""
    done = 0
    queryset = LineWebhookEvent.objects.filter(processed_at__isnull=True)
    if event_ids is not None:
        queryset = queryset.filter(pk__in=list(event_ids))
    while True:
        with transaction.atomic():
            events = list(queryset.order_by("received_at", "id").select_for_update(skip_locked=True)[:PROCESS_CHUNK])
            if not events:
                return done
            for stored in events:
                try:
                    with transaction.atomic():
                        _process(stored.payload, event_id=stored.event_id)
                    stored.error = ""
                except Exception as exc:  # one bad event does not stop the others; it is kept with its error
                    logger.exception("LINE: event %s could not be processed", stored.pk)
                    stored.error = f"{type(exc).__name__}: {exc}"[:2000]
                stored.processed_at = now or timezone.now()
                stored.save(update_fields=["processed_at", "error"])
                done += 1
        if event_ids is not None:
            return done


def _process(event: dict, *, event_id: str) -> None:
    kind = event.get("type")
    handler = {"follow": _follow, "unfollow": _unfollow, "message": _message, "accountLink": _account_link}.get(kind)
    if handler is None:
        return
    user = _user(event)
    if user is not None:
        handler(user, event, event_id)


def _follow(user: LineUser, event: dict, event_id: str) -> None:
    at = _at(event)
    user.following, user.blocked = True, False
    user.followed_at, user.follow_event_id = at, event_id
    user.save()
    if user.customer_id is None:
        transaction.on_commit(lambda: line_link_invite(user_pk=user.pk, event_id=event_id))
    logger.info("LINE: follow user=%s customer=%s", user.pk, user.customer_id)


def _unfollow(user: LineUser, event: dict, event_id: str) -> None:
    user.following, user.blocked = False, True
    user.unfollowed_at = _at(event)
    user.reply_token = ""
    user.save()
    if user.customer_id is not None:
        line_messages_stop(customer_id=user.customer_id)
    logger.info("LINE: unfollow user=%s customer=%s", user.pk, user.customer_id)


def line_messages_stop(*, customer_id: int) -> int:
    """The customer's queued LINE messages are skipped (a row being sent is stopped by the sender's last check)."""
    return OutboundMessage.objects.filter(
        customer_id=customer_id, channel=MessageChannel.LINE, status=OutboundMessage.Status.QUEUED
    ).update(
        status=OutboundMessage.Status.SKIPPED,
        skip_reason=OutboundMessage.SkipReason.LINE_UNREACHABLE,
        enqueued_at=None,
        updated_at=timezone.now(),
    )


def _message_text(message: dict) -> str:
    kind = message.get("type")
    if kind == "text":
        return str(message.get("text") or "")
    if kind == "sticker":
        return _("[LINE sticker]")
    return _("[LINE %(kind)s: open it in LINE]") % {"kind": kind or "?"}


def _message(user: LineUser, event: dict, event_id: str) -> None:
    message = event.get("message") or {}
    at = _at(event)
    text = _message_text(message)
    reply_token = str(event.get("replyToken") or "")[:100]
    if reply_token:
        user.reply_token, user.reply_token_at = reply_token, at
    user.last_message_at, user.last_message_text = at, text[:2000]
    user.save()
    if user.customer_id is None:
        logger.info("LINE: message from unlinked user=%s", user.pk)
        return
    inbound.dispatch(
        inbound.Inbound(
            channel=MessageChannel.LINE,
            external_id=str(message.get("id") or event_id),
            sender=user.display_name or "LINE",
            received_at=at,
            text=text,
            customer_id=user.customer_id,
            extra={"reply_token": reply_token, "line_user": user.pk},
        )
    )


def _account_link(user: LineUser, event: dict, event_id: str) -> None:
    link = event.get("link") or {}
    nonce = str(link.get("nonce") or "")
    if link.get("result") != "ok" or not nonce:
        return
    request = (
        LineLinkRequest.objects.select_for_update()
        .filter(nonce=nonce, used_at__isnull=True, verified_at__isnull=False, customer__isnull=False)
        .first()
    )
    if request is None:
        logger.warning("LINE: accountLink with an unknown or used nonce (user=%s)", user.pk)
        return
    request.used_at = timezone.now()
    request.save(update_fields=["used_at"])
    line_user_link(line_user=user, customer=request.customer, at=_at(event))


def line_user_link(*, line_user: LineUser, customer: Customer, at: dt.datetime | None = None) -> LineUser:
    """Link a LINE user to a customer (the account-link flow, or staff by hand). A LINE account the customer
    linked before (on this provider) is unlinked first."""
    at = at or timezone.now()
    with transaction.atomic():
        LineUser.objects.filter(provider=line_user.provider, customer=customer).exclude(pk=line_user.pk).update(
            customer=None, unlinked_at=at
        )
        LineUser.objects.filter(pk=line_user.pk).update(customer=customer, linked_at=at, unlinked_at=None)
    line_user.refresh_from_db()
    logger.info("LINE: user=%s linked to customer=%s", line_user.pk, customer.pk)
    return line_user


def line_user_unlink(*, line_user: LineUser, at: dt.datetime | None = None) -> LineUser:
    """Unlink: the LINE user stays (an unlinked contact); the customer's queued LINE messages are stopped."""
    at = at or timezone.now()
    with transaction.atomic():
        customer_id = line_user.customer_id
        LineUser.objects.filter(pk=line_user.pk).update(customer=None, unlinked_at=at)
        if customer_id is not None:
            line_messages_stop(customer_id=customer_id)
    line_user.refresh_from_db()
    logger.info("LINE: user=%s unlinked", line_user.pk)
    return line_user


def line_link_invite(*, user_pk: int, event_id: str) -> bool:
    """Ask a new, unlinked follower to link their account: a link token from LINE, and a message with a button
    to Tsunagu's link page. The push's retry key derives from the follow event, so it goes once."""
    from django.conf import settings

    user = LineUser.objects.filter(pk=user_pk, customer__isnull=True, following=True).first()
    if user is None or not line.configured():
        return False
    try:
        with line.Client() as api:
            token = api.link_token(user.user_id)
            url = settings.TSUNAGU_BASE_URL + reverse("line:link") + f"?linkToken={token}"
            messages = line.message_objects(
                _("Link your LINE account to your customer account to get your messages here."),
                link_url=url,
                link_label=_("Link"),
            )
            api.push(user.user_id, messages, retry_key=uuid.uuid5(line.RETRY_KEY_NAMESPACE, "invite:" + event_id))
    except line.LineError as exc:
        if not exc.already_accepted:
            logger.warning("LINE: could not invite user=%s to link: %s", user.pk, exc)
            return False
    return True
