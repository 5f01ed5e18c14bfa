"""The LINE Messaging API, through the official SDK (line-bot-sdk v3), and the throttle all workers share.

The access token is read at every use (``access_token()``), so rotating it needs no restart. Errors come back
as ``LineError`` with what the outbox needs to decide: sent already (409 on a repeated retry key), wait (429,
with how long), give up (another 4xx), or try again later (5xx, no answer).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from linebot.v3.messaging import (
    ApiClient,
    ApiException,
    Configuration,
    FlexMessage,
    IssueLinkTokenResponse,
    MessagingApi,
    MulticastRequest,
    PushMessageRequest,
    ReplyMessageRequest,
    TextMessage,
)

from .models import LineThrottle

logger = logging.getLogger(__name__)

MULTICAST_MAX = 500
TEXT_MAX = 5000
# The namespace of the retry keys derived from outbox keys (uuid5).
RETRY_KEY_NAMESPACE = uuid.UUID("6f1c1d38-3b0e-4b8e-9a51-2f4c1f0c9e11")
DEFAULT_RETRY_AFTER = 60


def access_token() -> str:
    path = getattr(settings, "LINE_CHANNEL_ACCESS_TOKEN_FILE", "")
    if path:
        try:
            return Path(path).read_text().strip()
        except OSError:
            logger.error("LINE: cannot read LINE_CHANNEL_ACCESS_TOKEN_FILE")
            return ""
    return os.environ.get("LINE_CHANNEL_ACCESS_TOKEN", "").strip()


def configured() -> bool:
    return bool(access_token())


def provider() -> str:
    return settings.LINE_PROVIDER_ID or settings.LINE_CHANNEL_ID or "default"


def retry_key_for(keys: list[str]) -> uuid.UUID:
    """The X-Line-Retry-Key of a request carrying the messages of these outbox keys (stable for the same set)."""
    return uuid.uuid5(RETRY_KEY_NAMESPACE, "\n".join(sorted(keys)))


@dataclass
class LineError(Exception):
    status: int
    message: str
    retry_after: int = 0
    accepted_request_id: str = ""

    def __str__(self) -> str:
        return f"LINE {self.status}: {self.message}"

    @property
    def already_accepted(self) -> bool:
        """409 on a retry key LINE has accepted before: the first request went through."""
        return self.status == 409

    @property
    def permanent(self) -> bool:
        # 401: a token being rotated or mis-set is fixed by whoever runs Tsunagu; the message waits for it.
        return 400 <= self.status < 500 and self.status not in (401, 409, 429)


def _error(exc: ApiException) -> LineError:
    headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
    message = exc.reason or ""
    try:
        body = json.loads(exc.body or b"{}")
        message = body.get("message", message)
        details = body.get("details") or []
        if details:
            message += " (" + "; ".join(f"{d.get('property', '')}: {d.get('message', '')}" for d in details) + ")"
    except (ValueError, AttributeError):
        pass
    retry_after = 0
    if exc.status == 429:
        try:
            retry_after = int(headers.get("retry-after", DEFAULT_RETRY_AFTER))
        except ValueError:
            retry_after = DEFAULT_RETRY_AFTER
    return LineError(
        status=exc.status or 0,
        message=str(message)[:500],
        retry_after=retry_after,
        accepted_request_id=headers.get("x-line-accepted-request-id", ""),
    )


class Client:
    """One API client (one connection pool) for a batch of calls."""

    def __init__(self, *, timeout: float = 10.0):
        configuration = Configuration(host=settings.LINE_API_HOST, access_token=access_token())
        self._client = ApiClient(configuration)
        self.api = MessagingApi(self._client)
        self.timeout = timeout

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def _call(self, method, *args, **kwargs):
        try:
            return method(*args, _request_timeout=self.timeout, **kwargs)
        except ApiException as exc:
            raise _error(exc) from exc
        except Exception as exc:  # urllib3: no answer (connection refused, timeout)
            raise LineError(status=0, message=f"{type(exc).__name__}: {exc}"[:500]) from exc

    def push(self, user_id: str, messages: list, *, retry_key: uuid.UUID) -> None:
        self._call(
            self.api.push_message_with_http_info,
            PushMessageRequest(to=user_id, messages=messages),
            x_line_retry_key=str(retry_key),
        )

    def multicast(self, user_ids: list[str], messages: list, *, retry_key: uuid.UUID) -> None:
        self._call(
            self.api.multicast_with_http_info,
            MulticastRequest(to=user_ids, messages=messages),
            x_line_retry_key=str(retry_key),
        )

    def reply(self, reply_token: str, messages: list) -> None:
        self._call(
            self.api.reply_message_with_http_info, ReplyMessageRequest(replyToken=reply_token, messages=messages)
        )

    def quota(self) -> tuple[int | None, int]:
        """(the month's limit or None when unlimited, messages used this month)."""
        limit = self._call(self.api.get_message_quota)
        used = self._call(self.api.get_message_quota_consumption)
        return (limit.value if limit.type == "limited" else None), int(used.total_usage)

    def profile_name(self, user_id: str) -> str:
        return self._call(self.api.get_profile, user_id).display_name or ""

    def link_token(self, user_id: str) -> str:
        answer: IssueLinkTokenResponse = self._call(self.api.issue_link_token, user_id)
        return answer.link_token


# LINE's limits on a Flex message (Messaging API reference: "Flex Message", "Action objects").
FLEX_ALT_MAX = 1500
FLEX_BUBBLE_BYTES_MAX = 30_000
URI_MAX = 1000
BUTTON_LABEL_MAX = 40


def flex_bubble(*, title: str, text: str, link_url: str, link_label: str) -> dict | None:
    """A Flex message (a bubble: title, text, one button) as LINE's JSON, or None when it would break LINE's
    limits (the caller then sends plain text)."""
    label = (link_label or "Open")[:BUTTON_LABEL_MAX]
    if len(link_url) > URI_MAX or not link_url.startswith(("https://", "http://", "line://", "tel:")):
        return None
    body: list[dict] = []
    if title:
        body.append({"type": "text", "text": title[:100], "weight": "bold", "size": "lg", "wrap": True})
    body.append({"type": "text", "text": text, "wrap": True, "margin": "md" if title else "none"})
    bubble = {
        "type": "bubble",
        "body": {"type": "box", "layout": "vertical", "contents": body},
        "footer": {
            "type": "box",
            "layout": "vertical",
            "contents": [
                {"type": "button", "style": "primary", "action": {"type": "uri", "label": label, "uri": link_url}}
            ],
        },
    }
    if len(json.dumps(bubble, ensure_ascii=False).encode()) > FLEX_BUBBLE_BYTES_MAX:
        return None
    # The alt text is what a notification and the chat list show: the title, then as much text as fits.
    alt = f"{title}\n{text}" if title else text
    return {"type": "flex", "altText": alt[:FLEX_ALT_MAX], "contents": bubble}


def message_objects(text: str, *, link_url: str = "", link_label: str = "", title: str | None = None) -> list:
    """The message(s) of one outbox row: a text, or a Flex bubble (title, text, button) when there is a link.
    The title is the shop's name unless given. A link the bubble cannot carry (too long, another scheme) goes
    at the end of a plain text, where LINE makes it tappable."""
    text = text[:TEXT_MAX] or " "
    if not link_url:
        return [TextMessage(text=text)]
    flex = flex_bubble(
        title=settings.TSUNAGU_SHOP_NAME if title is None else title,
        text=text,
        link_url=link_url,
        link_label=link_label,
    )
    if flex is not None:
        return [FlexMessage.from_dict(flex)]
    return [TextMessage(text=f"{text[: TEXT_MAX - len(link_url) - 1]}\n{link_url}"[:TEXT_MAX])]


# --- The shared limiter: after a 429 nobody calls LINE until the time it gave ------------------------------


def blocked_until(now: dt.datetime | None = None) -> dt.datetime | None:
    now = now or timezone.now()
    until = LineThrottle.objects.filter(pk=1).values_list("blocked_until", flat=True).first()
    return until if until is not None and until > now else None


def block(seconds: int, *, now: dt.datetime | None = None) -> dt.datetime:
    """Record a 429: every worker waits ``seconds`` (never shortening a longer wait already recorded)."""
    now = now or timezone.now()
    until = now + dt.timedelta(seconds=max(1, seconds))
    with transaction.atomic():
        row, _created = LineThrottle.objects.select_for_update().get_or_create(pk=1)
        if row.blocked_until is None or row.blocked_until < until:
            row.blocked_until = until
            row.save(update_fields=["blocked_until", "updated_at"])
    logger.warning("LINE: rate limited; no calls for %d s", seconds)
    return until
