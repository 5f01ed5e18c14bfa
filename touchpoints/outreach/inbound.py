"""What customers send back, on any channel, and who hears it.

The channels (email's mailboxes, LINE's webhook) live here in outreach; the conversation a message joins (a
ticket) belongs to feedback, which sits above the journey and so cannot be imported from here. A channel turns
what it received into an ``Inbound`` and hands it to ``dispatch``; an app above registers a handler in its
``AppConfig.ready()`` (feedback: threading into tickets). Handlers are asked in registration order; the first to
claim the message (return a result other than ``None``) ends the round.

The channel stores its raw input before dispatching (a mail's bytes, a webhook event), so a handler that fails
loses nothing: the channel retries the dispatch later, and handlers must be idempotent on ``external_id``.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Attachment:
    """A file that came with a message, already stored by the channel (``stored_name`` in its storage)."""

    filename: str
    content_type: str
    size: int
    stored_name: str = ""
    # Over the channel's size or type limits: named in the conversation, not stored.
    refused_reason: str = ""


@dataclass(frozen=True)
class Inbound:
    """One message from outside, channel-neutral.

    ``channel`` is a journey channel ("email", "line"); ``external_id`` is the channel's own id for the message
    (an email's Message-ID, a LINE message id): unique per channel, it makes every handler idempotent.
    ``references`` are ids this message answers (In-Reply-To and References for email), newest first.
    ``customer_id`` is set when the channel knows the sender (a linked LINE user, an address on file).
    """

    channel: str
    external_id: str
    sender: str
    received_at: dt.datetime
    text: str
    subject: str = ""
    customer_id: int | None = None
    references: Sequence[str] = ()
    attachments: Sequence[Attachment] = ()
    # Automatic mail (RFC 3834 Auto-Submitted, out-of-office): may join a conversation, never starts or reopens one.
    automatic: bool = False
    # Channel-specific extras a handler may use (the LINE reply token, the mailbox's team), never personal data
    # beyond what the message itself holds.
    extra: dict[str, Any] = field(default_factory=dict)


Handler = Callable[[Inbound], Any]

_handlers: list[Handler] = []


def register(handler: Handler) -> None:
    if handler not in _handlers:
        _handlers.append(handler)


def dispatch(message: Inbound) -> Any:
    """The first handler's answer that claims ``message``, or ``None`` when none does."""
    for handler in _handlers:
        result = handler(message)
        if result is not None:
            return result
    return None


# --- A batch's memo -------------------------------------------------------------------------------------------

_batch: contextvars.ContextVar[dict | None] = contextvars.ContextVar("inbound_batch", default=None)


@contextlib.contextmanager
def batch() -> Iterator[None]:
    """A batch of inbound messages (one IMAP fetch of ≤ 50 mails): settings read for one message (the SLA policy,
    the business calendar, Tsunagu's own addresses) are read once for the batch (``batch_memo``). A change staff
    make shows from the next batch, seconds later."""
    token = _batch.set({})
    try:
        yield
    finally:
        _batch.reset(token)


def batch_memo(key: Any, factory: Callable[[], Any]) -> Any:
    """``factory()``, read once per ``batch()`` (every time outside one)."""
    memo = _batch.get()
    if memo is None:
        return factory()
    if key not in memo:
        memo[key] = factory()
    return memo[key]


# --- Writes deferred to the end of a batch's transaction ----------------------------------------------------------

# {flush: [items]} of the batch, and of the message being handled (merged into the batch's when it succeeds).
_deferred: contextvars.ContextVar[dict | None] = contextvars.ContextVar("inbound_deferred", default=None)
_deferred_message: contextvars.ContextVar[dict | None] = contextvars.ContextVar("inbound_deferred_msg", default=None)


@contextlib.contextmanager
def deferred_writes() -> Iterator[None]:
    """Inside a batch's one transaction: rows that each message writes through a bulk service (a new ticket's
    touchpoint) are written once for the batch, when the block ends without an error, still inside that
    transaction. A channel opens it around the messages it handles in one transaction, each in
    ``message_writes``."""
    collected: dict = {}
    token = _deferred.set(collected)
    try:
        yield
        while collected:  # a flush may defer more (never does today): drain until nothing is left
            pending = dict(collected)
            collected.clear()
            for flush, items in pending.items():
                flush(items)
    finally:
        _deferred.reset(token)


@contextlib.contextmanager
def message_writes() -> Iterator[None]:
    """One message of a ``deferred_writes`` batch, in its own savepoint: what it deferred joins the batch only if
    it ends without an error (a message rolled back leaves nothing to write)."""
    staged: dict = {}
    token = _deferred_message.set(staged)
    try:
        yield
    finally:
        _deferred_message.reset(token)
    batch_writes = _deferred.get()
    if batch_writes is not None:
        for flush, items in staged.items():
            batch_writes.setdefault(flush, []).extend(items)


def defer(flush: Callable[[list], Any], item: Any) -> bool:
    """Leave ``item`` for ``flush(items)`` at the end of the batch's transaction. False outside a
    ``message_writes`` block: the caller writes it now."""
    staged = _deferred_message.get()
    if staged is None or _deferred.get() is None:
        return False
    staged.setdefault(flush, []).append(item)
    return True
