"""Helpers the apps' demo seeders share (seed_demo, seed_loyalty, seed_feedback)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator


@contextlib.contextmanager
def quiet_logs(verbosity: int) -> Iterator[None]:
    """The services log every step at INFO: hundreds of lines while seeding. Shown with ``-v 2``."""
    if verbosity >= 2:
        yield
        return
    logging.disable(logging.INFO)
    try:
        yield
    finally:
        logging.disable(logging.NOTSET)
