"""The nightly expiry of lots past their date, and reminders of points about to expire."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from .. import reasons
from ..models import Greeting, LedgerEntry, Membership, Programme
from .dates import local_today
from .greetings import _greetings_insert
from .ledger import Kind, Source, _apply, _lock

logger = logging.getLogger(__name__)


def points_expire(*, today: dt.date | None = None, chunk: int = 500, at: dt.datetime | None = None) -> int:
    """Expire what is left of every lot valid through a day before ``today``: one ``expire`` entry per
    membership and run, each membership in its own transaction. Returns the points expired.
    ``at``: when the entries are written (default now; the demo seeder runs past nights)."""
    today = today or local_today()
    total, last = 0, 0
    while True:
        membership_ids = list(
            LedgerEntry.objects.filter(remaining__gt=0, expires_on__lt=today, membership_id__gt=last)
            .order_by("membership_id")
            .values_list("membership_id", flat=True)
            .distinct()[:chunk]
        )
        if not membership_ids:
            return total
        last = membership_ids[-1]
        for membership_id in membership_ids:
            try:
                total += _membership_expire(membership_id=membership_id, today=today, at=at)
            except Exception:
                logger.exception("loyalty expiry failed for membership %s", membership_id)


@transaction.atomic
def _membership_expire(*, membership_id: int, today: dt.date, at: dt.datetime | None = None) -> int:
    membership = _lock(membership_id)
    lots = list(
        LedgerEntry.objects.filter(membership_id=membership_id, remaining__gt=0, expires_on__lt=today)
        .order_by("expires_on", "id")
        .values_list("id", "remaining", "expires_on")
    )
    if not lots:
        return 0
    points = sum(lot[1] for lot in lots)
    digest = hashlib.sha256(repr([(lot[0], lot[1]) for lot in lots]).encode()).hexdigest()[:16]
    LedgerEntry.objects.filter(pk__in=[lot[0] for lot in lots]).update(remaining=0)
    entry = LedgerEntry.objects.create(
        membership=membership,
        kind=Kind.EXPIRE,
        points=-points,
        allocations={str(lot[0]): lot[1] for lot in lots},
        **reasons.reason(reasons.EXPIRED, day=lots[-1][2].isoformat()),
        source=Source.JOB,
        source_ref="points_expire",
        key=f"expire:m{membership_id}:{today.isoformat()}:{digest}",
        created_at=at or timezone.now(),
    )
    _apply(membership, entry)
    return points


def expiry_reminders_schedule(*, today: dt.date | None = None, catch_up_days: int = 3) -> int:
    """Schedule a reminder for points that expire in the programme's reminder period: one per membership and
    expiry day (a run missed on the previous ``catch_up_days`` nights is caught up). Returns how many."""
    today = today or local_today()
    created = 0
    programmes = Programme.objects.active().filter(points_lifetime_months__isnull=False, expiry_reminder_days__gt=0)
    for programme in programmes:
        horizon = today + dt.timedelta(days=programme.expiry_reminder_days)
        rows = (
            LedgerEntry.objects.filter(
                remaining__gt=0,
                expires_on__gte=horizon - dt.timedelta(days=catch_up_days),
                expires_on__lte=horizon,
                membership__programme=programme,
                membership__status=Membership.Status.ACTIVE,
            )
            .order_by()
            .values("membership_id", "membership__customer_id", "expires_on")
            .annotate(points=Sum("remaining"))
        )
        greetings = [
            Greeting(
                customer_id=row["membership__customer_id"],
                membership_id=row["membership_id"],
                kind=Greeting.Kind.POINTS_EXPIRING,
                occasion=f"{row['membership_id']}:{row['expires_on'].isoformat()}",
                detail=row["expires_on"].isoformat(),
                due_on=today,
            )
            for row in rows
        ]
        created += _greetings_insert(greetings)
    return created
