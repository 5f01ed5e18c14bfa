"""Who made a change: the context django-pghistory attaches to every event row written while it is open.

pghistory prefixes each write with a PostgreSQL ``set_config``; on SQLite (the embedded default, which has
no change history) that SQL would fail, so every entry point here opens the context on PostgreSQL only.
Recorded: the staff user's id, the request's method and path (never its query string: no personal data),
the API key's id, or the Celery task's name.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pghistory
from django.core.handlers.wsgi import WSGIRequest
from django.db import connection


def history_enabled() -> bool:
    return connection.vendor == "postgresql"


@contextlib.contextmanager
def history_context(**metadata: Any) -> Iterator[None]:
    """Attach ``metadata`` to the changes made inside (nested: adds to the enclosing context)."""
    if not history_enabled():
        yield
        return
    with pghistory.context(**metadata):
        yield


def _note(**metadata: Any) -> None:
    # Called without ``with``: adds to the context already open (the request's), or does nothing.
    if history_enabled():
        pghistory.context(**metadata)


class _AuditedRequest(WSGIRequest):
    """DRF authenticates inside the view and then sets ``user`` and ``auth`` on the request: note them then."""

    def __setattr__(self, attr: str, value: Any) -> None:
        if attr == "user" and getattr(value, "_meta", None) is not None:
            _note(user=value.pk)
        elif attr == "auth" and getattr(value, "_meta", None) is not None:
            _note(api_key=value.pk)
        super().__setattr__(attr, value)


class HistoryContextMiddleware:
    """Every request's changes carry who made them (after AuthenticationMiddleware)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not history_enabled():
            return self.get_response(request)
        user = getattr(request, "user", None)
        metadata: dict[str, Any] = {"method": request.method, "path": request.path}
        if user is not None and user.is_authenticated:
            metadata["user"] = user.pk
        with pghistory.context(**metadata):
            if type(request) is WSGIRequest:
                request.__class__ = _AuditedRequest
            return self.get_response(request)


_task_contexts: dict[str, contextlib.ExitStack] = {}


def task_context_enter(task_id: str | None = None, task=None, **kwargs) -> None:
    """Celery's task_prerun: the task's writes carry its name."""
    if task_id is None or task is None or not history_enabled():
        return
    stack = contextlib.ExitStack()
    stack.enter_context(pghistory.context(task=task.name))
    _task_contexts[task_id] = stack


def task_context_exit(task_id: str | None = None, **kwargs) -> None:
    stack = _task_contexts.pop(task_id or "", None)
    if stack is not None:
        stack.close()


# Commands that write personal data: their changes carry the command's name. An allow-list, not every command: the
# context prefixes each write with SQL, which a migration's DDL (CREATE INDEX CONCURRENTLY) must not get.
COMMANDS_WRITING_PERSONAL_DATA = frozenset({"import_customers", "seed_demo", "seed_loyalty", "seed_feedback", "shell"})
_command_context: list[pghistory.context] = []


def command_context_enter(argv: list[str]) -> None:
    """``manage.py <command>``: opened when the apps are ready, for the life of the process (one command)."""
    if _command_context or len(argv) < 2 or Path(argv[0]).name != "manage.py":
        return
    if argv[1] not in COMMANDS_WRITING_PERSONAL_DATA or not history_enabled():
        return
    context = pghistory.context(command=argv[1])
    context.__enter__()
    _command_context.append(context)
