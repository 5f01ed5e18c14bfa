"""Receivers of the domain events of the apps below touchpoints (connected in TouchpointsConfig.ready())."""

from __future__ import annotations

from typing import Any

from customers.models import Customer

from .services import journey_merge


def on_customer_merging(sender: Any, *, primary: Customer, duplicate: Customer, **kwargs: Any) -> None:
    """customers.events.customer_merging: keep one journey per customer before the rows move."""
    journey_merge(primary=primary, duplicate=duplicate)
