from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.db import models

from customers.localtime import local_day_start
from customers.models import Customer
from customers.pagination import Ordering

# The list's only sort: newest first, on touchpoint_occurred_idx (and the per-filter indexes).
TOUCHPOINT_ORDERING = Ordering("occurred_at", descending=True)

# "Recorded by" filter values that are not a staff user's id.
RECORDED_BY_SOURCES = ("staff", "api", "import", "system")
API_KEY_PREFIX = "key:"  # recorded_by="key:12": through that API key


class TouchpointTypeQuerySet(models.QuerySet):
    def active(self) -> TouchpointTypeQuerySet:
        return self.filter(is_active=True)


class TouchpointQuerySet(models.QuerySet):
    def for_customer(self, customer: Customer | int) -> TouchpointQuerySet:
        return self.filter(customer=customer)

    def with_stage_and_channel(self, filters: Mapping[str, Any]) -> TouchpointQuerySet:
        """Apply ``filters["stage"]`` and ``filters["channel"]`` when they are known values (others are ignored)."""
        from .models import Channel, Stage  # a cycle: touchpoints.models imports this module

        qs = self
        stage = filters.get("stage") or ""
        if stage in Stage.values:
            qs = qs.filter(stage=stage)
        channel = filters.get("channel") or ""
        if channel in Channel.values:
            qs = qs.filter(channel=channel)
        return qs

    def filter_by(
        self,
        *,
        stage: str = "",
        type_id: int | None = None,
        channel: str = "",
        start: dt.date | None = None,
        end: dt.date | None = None,
        recorded_by: str = "",
        customer_id: int | None = None,
    ) -> TouchpointQuerySet:
        """The list page's whitelisted filters; values were validated by ``TouchpointFilterForm``."""
        qs = self
        if customer_id:
            qs = qs.filter(customer_id=customer_id)
        if stage:
            qs = qs.filter(stage=stage)
        if type_id:
            qs = qs.filter(type_id=type_id)
        if channel:
            qs = qs.filter(channel=channel)
        if start:
            qs = qs.filter(occurred_at__gte=local_day_start(start))
        if end:
            qs = qs.filter(occurred_at__lt=local_day_start(end + dt.timedelta(days=1)))
        if recorded_by in RECORDED_BY_SOURCES:
            qs = qs.filter(source=recorded_by)
        elif recorded_by.startswith(API_KEY_PREFIX) and recorded_by[len(API_KEY_PREFIX) :].isdigit():
            qs = qs.filter(recorded_by_api_key_id=int(recorded_by[len(API_KEY_PREFIX) :]))
        elif recorded_by.isdigit():
            qs = qs.filter(recorded_by_user_id=int(recorded_by))
        return qs

    def for_list(self) -> TouchpointQuerySet:
        return self.select_related("customer", "type", "recorded_by_user", "recorded_by_api_key")

    def for_timeline(self) -> TouchpointQuerySet:
        return self.select_related("type", "recorded_by_user", "recorded_by_api_key")

    def for_api(self) -> TouchpointQuerySet:
        return self.select_related("type")


class StageTransitionQuerySet(models.QuerySet):
    def for_customer(self, customer: Customer | int) -> StageTransitionQuerySet:
        return self.filter(customer=customer)

    def with_stage_and_channel(self, filters: Mapping[str, Any]) -> StageTransitionQuerySet:
        from .models import Channel, Stage  # a cycle: touchpoints.models imports this module

        qs = self
        stage = filters.get("stage") or ""
        if stage in Stage.values:
            qs = qs.filter(to_stage=stage)
        channel = filters.get("channel") or ""
        if channel in Channel.values:
            qs = qs.filter(channel=channel)
        return qs

    def for_timeline(self) -> StageTransitionQuerySet:
        return self.select_related("by", "touchpoint__type")

    def between(self, start: dt.date, end: dt.date) -> StageTransitionQuerySet:
        """Transitions from the start of ``start`` to the end of ``end`` (business time zone), on the funnel index."""
        return self.filter(at__gte=local_day_start(start), at__lt=local_day_start(end + dt.timedelta(days=1)))
