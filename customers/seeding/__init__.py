"""The demo data of customers, and what the apps' demo seeders share (seed_demo, seed_loyalty, seed_feedback).

``draws`` (random streams, weighted picks), ``tables`` (fast writes), ``customers`` (the customers seeder,
which an app above extends per customer: the journeys in ``touchpoints.seeding``).
"""

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
