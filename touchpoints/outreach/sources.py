"""Who may read the messages an app sends through the outbox.

The outbox holds every app's mail; a ticket reply is support correspondence that marketing may not read, though
marketing reads the outbox. An app that sends through the outbox names here the permission a reader needs for its
messages (feedback: ``feedback.view_ticket``); the outbox's pages and the customer page leave out the rest.
"""

from __future__ import annotations

from typing import Any

_permissions: dict[str, str] = {}


def register(*, source_app: str, permission: str) -> None:
    _permissions[source_app] = permission


def hidden_from(user: Any) -> list[str]:
    """The source apps whose messages ``user`` may not read."""
    return sorted(app for app, permission in _permissions.items() if not user.has_perm(permission))
