"""Dirty marks: the customers and days the next refresh must recompute (written by crm/insights/receivers.py on
merges and deletions, which leave no timestamp behind)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from ..models import RollupDirty


def mark_dirty(*, customer_ids: Iterable[int] = (), days: Iterable[dt.date] = ()) -> None:
    rows = [RollupDirty(customer_id=pk) for pk in set(customer_ids)]
    rows += [RollupDirty(day=day) for day in set(days)]
    RollupDirty.objects.bulk_create(rows)
