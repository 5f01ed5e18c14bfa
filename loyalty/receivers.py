"""Receivers of the domain events of the apps below loyalty (connected in LoyaltyConfig.ready()).

Each one calls a loyalty service: this is the only way the touchpoints and customers apps move points.
"""

from __future__ import annotations

from typing import Any

from customers.models import Customer

from . import services


def on_touchpoint_recorded(sender: Any, *, touchpoint, **kwargs: Any) -> None:
    """touchpoints.events.touchpoint_recorded (after commit): purchases earn points, returns take them back."""
    services.points_earn_for_purchase(touchpoint=touchpoint)
    services.points_reverse_for_return(touchpoint=touchpoint)


def on_customer_merging(sender: Any, *, primary: Customer, duplicate: Customer, **kwargs: Any) -> None:
    """customers.events.customer_merging: one membership per programme before the rows move."""
    services.memberships_merge(primary=primary, duplicate=duplicate)


def on_membership_pre_delete(sender: Any, **kwargs: Any) -> None:
    """A membership is deleted only with its customer (erasure): let its ledger entries go with it.

    This is not a business rule but the key to the ledger's append-only trigger, which refuses any other
    deletion; the setting lasts until the end of the deletion (``on_membership_post_delete``)."""
    services.ledger_erasure_allow(True)


def on_membership_post_delete(sender: Any, **kwargs: Any) -> None:
    services.ledger_erasure_allow(False)
