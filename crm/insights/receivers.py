"""What the insights rollups must hear about between two refreshes (crm/insights/rollups/).

Most changes are found by their timestamps; merges and deletions leave none, so they are written down here
(``RollupDirty``): the customers whose contributions must be recomputed and the days whose daily rows must be.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models.signals import post_delete, pre_delete

from customers import events
from customers.localtime import local_date
from customers.models import Customer
from feedback.models import Survey, Ticket
from loyalty.models import Membership

from . import rollups


def _days(*values: dt.datetime | None) -> set[dt.date]:
    return {local_date(v) for v in values if v is not None}


def on_customer_merging(sender: Any, *, primary, duplicate, **kwargs: Any) -> None:
    """The primary's rows grow and its creation date may move to the duplicate's: recompute both."""
    rollups.mark_dirty(customer_ids=[primary.pk, duplicate.pk], days=_days(primary.created_at, duplicate.created_at))


def on_customer_pre_delete(sender: Any, *, instance, **kwargs: Any) -> None:
    """A deleted customer takes their tickets, answers and memberships along: note the days they counted on
    (their touchpoints' and points' days are in their rollup state)."""
    days = _days(instance.created_at)
    for created, resolved in Ticket.objects.filter(customer=instance).values_list("created_at", "resolved_at"):
        days |= _days(created, resolved)
    days |= _days(
        *Survey.objects.filter(customer=instance, answered_at__isnull=False).values_list("answered_at", flat=True)
    )
    for joined, closed in Membership.objects.filter(customer=instance).values_list("joined_at", "closed_at"):
        days |= _days(joined, closed)
    rollups.mark_dirty(customer_ids=[instance.pk], days=days)


def on_membership_post_delete(sender: Any, *, instance, **kwargs: Any) -> None:
    rollups.mark_dirty(customer_ids=[instance.customer_id], days=_days(instance.joined_at, instance.closed_at))


def connect() -> None:
    events.customer_merging.connect(on_customer_merging, dispatch_uid="crm.insights.rollups.merge")
    pre_delete.connect(on_customer_pre_delete, sender=Customer, dispatch_uid="crm.insights.rollups.customer_delete")
    post_delete.connect(
        on_membership_post_delete, sender=Membership, dispatch_uid="crm.insights.rollups.membership_delete"
    )
