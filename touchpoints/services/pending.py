"""Journey advancement left for after the commit: a large API batch writes its touchpoints and a ``JourneyPending``
row for each that may move its customer, and a task run right after the commit (``journeys_fold_pending``) advances
the journeys. The request then costs the insert alone; the stage is exact once the task ran.

Exact, not merely eventually close: every advancement of a customer (the task, a later batch, a manual move, a merge)
first takes that customer's pending rows under the customer's lock and advances through them together with its own
touchpoints, in the order they happened. Taking a row deletes it, so the task run twice (or with the periodic
catch-up in ``funnel_fold_task``) advances nothing twice.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.db.models.base import ModelState
from django.utils import timezone

from customers.pgarray import pg_array
from touchpoints.models import JourneyPending, Touchpoint

logger = logging.getLogger(__name__)

# From this many journey-moving touchpoints, an API batch leaves the journeys to the task (smaller ones are cheap).
DEFER_FROM = 100
# The periodic catch-up takes the rows a lost task (the broker was down) left, once they are this old.
CATCH_UP_AFTER = dt.timedelta(seconds=30)
FOLD_CHUNK = 1000


def pending_add(touchpoints: list[Touchpoint]) -> None:
    """Note these (just inserted) touchpoints as pending, in one statement."""
    if not touchpoints:
        return
    if connection.vendor != "postgresql":
        JourneyPending.objects.bulk_create(
            [JourneyPending(touchpoint_id=t.pk, customer_id=t.customer_id) for t in touchpoints]
        )
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO touchpoints_journeypending (touchpoint_id, customer_id)"
            " SELECT * FROM unnest(%s::bigint[], %s::bigint[])",
            [pg_array(t.pk for t in touchpoints), pg_array(t.customer_id for t in touchpoints)],
        )


_TAKEN_FIELDS = ("id", "customer_id", "stage", "channel", "occurred_at", "source", "direction", "recorded_by_user_id")
TAKE_SQL = (
    "WITH taken AS (DELETE FROM touchpoints_journeypending WHERE customer_id = ANY(%s::bigint[])"
    " RETURNING touchpoint_id) SELECT t.id, t.customer_id, t.stage, t.channel, t.occurred_at, t.source,"
    " t.direction, t.recorded_by_user_id"
    " FROM touchpoints_touchpoint t WHERE t.id = ANY(ARRAY(SELECT touchpoint_id FROM taken))"
)


def pending_take(customer_ids: Iterable[int]) -> list[Touchpoint]:
    """Delete the pending rows of these customers (the caller holds their locks) and return their touchpoints with
    what the advancement reads of them (the other fields load on access, as with ``only()``)."""
    customer_ids = list(customer_ids)
    if not customer_ids:
        return []
    if connection.vendor != "postgresql":
        rows = JourneyPending.objects.filter(customer_id__in=customer_ids)
        ids = list(rows.values_list("touchpoint_id", flat=True))
        rows.delete()
        return list(Touchpoint.objects.filter(pk__in=ids).only(*_TAKEN_FIELDS)) if ids else []
    # One statement, and instances without the ORM's row-by-row work (a task takes a thousand at a time). A
    # touchpoint deleted meanwhile (its customer erased) has nothing left to advance. The touchpoints are looked up
    # by ``id = ANY(ARRAY(...))``, not joined: the pending table's statistics are rarely fresh (it is emptied as
    # fast as it fills), and on an estimate of thousands of rows the planner merge-joined the whole touchpoint
    # table's primary key (880 ms for 1,000 rows among a million, against 3 ms).
    with connection.cursor() as cursor:
        cursor.execute(TAKE_SQL, [pg_array(customer_ids)])
        rows = cursor.fetchall()
    alias = connection.alias
    touchpoints = []
    for row in rows:
        touchpoint = Touchpoint.__new__(Touchpoint)
        touchpoint.__dict__.update(zip(_TAKEN_FIELDS, row, strict=True))
        touchpoint._state = ModelState()
        touchpoint._state.adding, touchpoint._state.db = False, alias
        touchpoints.append(touchpoint)
    return touchpoints


def journeys_after_commit(touchpoints: list[Touchpoint]) -> None:
    """Publish the task that advances these touchpoints' journeys once the batch committed. Never raises: the
    pending rows are the record, and the periodic catch-up takes them if the broker does not."""
    ids = [t.pk for t in touchpoints]

    def publish() -> None:
        from touchpoints.tasks import journeys_fold_pending_task

        try:
            journeys_fold_pending_task.apply_async(args=[ids], retry=True, retry_policy={"max_retries": 2})
        except Exception:
            logger.exception(
                "journeys: could not publish the advancement of %d touchpoint(s); caught up later", len(ids)
            )

    transaction.on_commit(publish)


def pending_fold(customer_ids: list[int]) -> int:
    """Lock these customers and advance their journeys through their pending touchpoints (in the caller's
    transaction; a manual move and a merge call it first). Returns how many touchpoints it took."""
    from touchpoints.services.journeys import announce, customers_lock, journeys_advance, moves_journey

    if not JourneyPending.objects.filter(customer_id__in=customer_ids).exists():
        return 0
    sources, journeys = customers_lock(sorted(customer_ids))
    touchpoints = [t for t in pending_take(customer_ids) if t.customer_id in sources and moves_journey(t)]
    transitions = journeys_advance(touchpoints, by=None, now=timezone.now(), sources=sources, journeys=journeys)
    if transitions:
        transaction.on_commit(lambda: announce(touchpoints=[], transitions=transitions))
    return len(touchpoints)


def journeys_fold_pending(
    *, touchpoint_ids: Iterable[int] | None = None, older_than: dt.timedelta | None = None
) -> int:
    """Advance the journeys of the customers with pending rows: those of ``touchpoint_ids`` (the task after a
    batch), or every pending row older than ``older_than`` (the catch-up). Returns how many rows it took."""
    rows = JourneyPending.objects.all()
    if touchpoint_ids is not None:
        rows = rows.filter(touchpoint_id__in=list(touchpoint_ids))
    elif older_than is not None:  # the catch-up: rows whose task should have run by now
        stored = Touchpoint.objects.filter(pk=OuterRef("touchpoint_id"), created_at__lt=timezone.now() - older_than)
        rows = rows.filter(Exists(stored))
    customer_ids = sorted(set(rows.values_list("customer_id", flat=True)))
    taken = 0
    for start in range(0, len(customer_ids), FOLD_CHUNK):
        with transaction.atomic():
            taken += pending_fold(customer_ids[start : start + FOLD_CHUNK])
    if taken:
        logger.info("journeys advanced after commit: touchpoints=%d customers=%d", taken, len(customer_ids))
    return taken
