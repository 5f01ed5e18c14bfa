"""How every app sends its domain events (the signals in ``<app>/events.py``): after the transaction commits, to
every receiver, each receiver's failure logged with its name.

A receiver belongs to a higher app; its failure must neither undo the sender's committed work nor keep the other
receivers from hearing the event, and it must not vanish either: ``send_robust`` collects the exception, and it is
logged here with its traceback.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.dispatch import Signal

logger = logging.getLogger(__name__)


def receiver_name(receiver: Any) -> str:
    """``module.qualname`` of a receiver function or method, else its repr."""
    qualname = getattr(receiver, "__qualname__", None)
    return f"{receiver.__module__}.{qualname}" if qualname else repr(receiver)


def send_logged(signal: Signal, *, sender: Any, **kwargs: Any) -> None:
    """Send now to every receiver; a receiver that raises is logged and the others still run."""
    for receiver, result in signal.send_robust(sender=sender, **kwargs):
        if isinstance(result, Exception):
            # The exception was caught inside send_robust, so its traceback is passed on explicitly
            # (what logger.exception would log inside the except block).
            logger.error(
                "event receiver %s failed (sender %s)",
                receiver_name(receiver),
                getattr(sender, "__name__", sender),
                exc_info=result,
            )


def send_after_commit(signal: Signal, *, sender: Any, **kwargs: Any) -> None:
    """Send ``signal`` once the current transaction commits (now, outside one), through ``send_logged``."""
    transaction.on_commit(lambda: send_logged(signal, sender=sender, **kwargs))
