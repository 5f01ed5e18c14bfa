"""Who may read the messages an app sends through the outbox.

The outbox holds every app's mail; a ticket reply is support correspondence that marketing may not read, though
marketing reads the outbox. An app that sends through the outbox names here the permission a reader needs for its
messages (feedback: ``feedback.view_ticket``); the outbox's pages and the customer page leave out the rest.

An app whose messages are on the customer's timeline already, as its own entries (a ticket's reply is the ticket's
"Reply sent"), says ``on_timeline=False``: the outbox then records no "Follow-up email" touchpoint for them, which
put a support reply in the retention stage and doubled every entry (issue 20).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_permissions: dict[str, str] = {}
_off_timeline: set[str] = set()
# Extra mail headers an app's messages carry (feedback: the Reply-To leading back to the ticket, Auto-Submitted).
_headers: dict[str, Callable[[Any], dict[str, str]]] = {}


def register(
    *,
    source_app: str,
    permission: str,
    on_timeline: bool = True,
    headers: Callable[[Any], dict[str, str]] | None = None,
) -> None:
    _permissions[source_app] = permission
    if on_timeline:
        _off_timeline.discard(source_app)
    else:
        _off_timeline.add(source_app)
    if headers is not None:
        _headers[source_app] = headers


def off_timeline() -> list[str]:
    """The source apps whose sent messages the outbox does not record on the timeline (their app shows them)."""
    return sorted(_off_timeline)


def headers_for(message: Any) -> dict[str, str]:
    """The headers the app that asked for ``message`` (an OutboundMessage) adds to its mail."""
    provider = _headers.get(message.source_app)
    return provider(message) if provider is not None else {}


def hidden_from(user: Any) -> list[str]:
    """The source apps whose messages ``user`` may not read."""
    return sorted(app for app, permission in _permissions.items() if not user.has_perm(permission))
