"""Reads of the outreach app: the outbox page's filters and the staff task lists."""

from __future__ import annotations

from typing import Any

from django.db import models

from customers.pagination import Ordering

from . import sources

# The outbox page's only sort: newest first, on outbox_created_idx (outbox_status_idx when filtered by status).
OUTBOX_ORDERING = Ordering("created_at", descending=True)


class OutboundMessageQuerySet(models.QuerySet):
    def readable_by(self, user) -> OutboundMessageQuerySet:
        """Leave out the messages of apps whose correspondence ``user`` may not read (see sources.py)."""
        hidden = sources.hidden_from(user)
        return self.exclude(source_app__in=hidden) if hidden else self

    def filter_by(
        self,
        *,
        status: str = "",
        purpose: str = "",
        reason: str = "",
        channel: str = "",
        broadcast: int | None = None,
        template: int | None = None,
        customer: int | None = None,
    ) -> OutboundMessageQuerySet:
        """The outbox page's whitelisted filters; values were validated by ``OutboxFilterForm``."""
        qs = self
        if status:
            qs = qs.filter(status=status)
        if purpose:
            qs = qs.filter(purpose=purpose)
        if reason:
            qs = qs.filter(skip_reason=reason)
        if channel:
            qs = qs.filter(channel=channel)
        if broadcast:
            qs = qs.filter(broadcast_id=broadcast)
        if template:
            qs = qs.filter(template_id=template)
        if customer:
            qs = qs.filter(customer_id=customer)
        return qs

    def for_list(self) -> OutboundMessageQuerySet:
        return self.select_related("customer", "template", "broadcast").defer("body", "customer__search_text")


class StaffTaskQuerySet(models.QuerySet):
    def open(self) -> StaffTaskQuerySet:
        return self.filter(status="open")

    def for_user(self, user: Any, scope: str = "mine") -> StaffTaskQuerySet:
        """Open tasks: ``mine`` (assigned to the user), ``team`` (unassigned, for one of the user's groups)
        or ``all``."""
        qs = self.open()
        if scope == "all":
            return qs
        if scope == "team":
            return qs.filter(assignee__isnull=True, group__in=user.groups.all())
        return qs.filter(assignee=user)

    def for_list(self) -> StaffTaskQuerySet:
        return self.select_related("customer", "assignee", "group").defer("customer__search_text")
