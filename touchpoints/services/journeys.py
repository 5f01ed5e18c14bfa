"""Moving customers along the journey: stage transitions from touchpoints, by hand, and on a merge.

Every change of stage is a ``StageTransition`` row, closed (``ended_at``) by the next one, and keeps the
funnel's rollups in step; ``events.journey_stage_changed`` is sent after commit.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from itertools import pairwise

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Customer
from customers.pgarray import pg_array
from customers.signals import send_logged
from touchpoints import events
from touchpoints.funnel import FunnelTracker, funnel_merge
from touchpoints.models import (
    CustomerJourney,
    Direction,
    Stage,
    StageTransition,
    Touchpoint,
    stage_rank,
)
from touchpoints.services.inserts import copy_insert, instance

logger = logging.getLogger(__name__)

Journeys = dict[int, tuple[int, str, dt.datetime]]  # customer id -> (journey id, stage, since)


def customers_lock(customer_ids: list[int]) -> tuple[dict[int, str], Journeys]:
    """Lock the customers (their journeys are written next; ``FOR NO KEY UPDATE``, in id order) and return the
    source of each that exists, and the journeys they have. On PostgreSQL the ids go as one array rather than a
    placeholder each: building a query with a thousand placeholders costs more than running it.

    The journeys are read by a second statement, after the locks are held: a statement that waited for a lock
    still reads the other rows as they were when it began, so a journey another batch has just created would
    be missed (and created twice)."""
    if connection.vendor != "postgresql":
        sources = dict(
            Customer.objects.select_for_update(no_key=True)
            .filter(pk__in=customer_ids)
            .order_by("pk")
            .values_list("pk", "source")
        )
        rows = CustomerJourney.objects.filter(customer_id__in=list(sources)).values_list(
            "customer_id", "id", "stage", "stage_since"
        )
        return sources, {customer_id: (pk, stage, since) for customer_id, pk, stage, since in rows}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, source FROM customers_customer WHERE id = ANY(%s::bigint[]) ORDER BY id FOR NO KEY UPDATE",
            [pg_array(customer_ids)],
        )
        sources = dict(cursor.fetchall())
        cursor.execute(
            "SELECT customer_id, id, stage, stage_since FROM touchpoints_customerjourney"
            " WHERE customer_id = ANY(%s::bigint[])",
            [pg_array(sources)],
        )
        return sources, {row[0]: row[1:] for row in cursor.fetchall()}


def customers_exist(customer_ids: list[int]) -> dict[int, str]:
    """The source of each of these customers that exists, kept from deletion until the end of the transaction
    (``FOR KEY SHARE``: what the foreign keys' check takes, which blocks no other batch of theirs)."""
    if connection.vendor != "postgresql":
        return dict(Customer.objects.filter(pk__in=customer_ids).values_list("pk", "source"))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, source FROM customers_customer WHERE id = ANY(%s::bigint[]) ORDER BY id FOR KEY SHARE",
            [pg_array(customer_ids)],
        )
        return dict(cursor.fetchall())


def moves_journey(touchpoint: Touchpoint) -> bool:
    """Whether a touchpoint may move its customer along the journey.

    The journey follows what the customer does. Messages Tsunagu sends by itself (follow-ups, newsletters,
    greetings, ticket replies: outbound, recorded by the system) appear on the timeline but move no one:
    otherwise a newsletter would put every awareness-stage lead into "retention".
    """
    return not (touchpoint.source == Touchpoint.Source.SYSTEM and touchpoint.direction == Direction.OUTBOUND)


_TRANSITION_TOUCHPOINT = StageTransition._meta.get_field("touchpoint")
_TRANSITION_BY = StageTransition._meta.get_field("by")


def journeys_advance(
    touchpoints: list[Touchpoint],
    *,
    by: AbstractBaseUser | None,
    now: dt.datetime,
    sources: dict[int, str],
    journeys: Journeys,
) -> list[StageTransition]:
    """Advance each customer through the stages of their new touchpoints, in the order they happened.

    A stage is only ever entered from an earlier one here. The transition is dated when the touchpoint
    happened, but never before the customer entered their current stage (a back-dated import does not
    rewrite history). Customers are already locked by the caller, and ``journeys`` read with them.
    """
    by_customer: dict[int, list[Touchpoint]] = defaultdict(list)
    for touchpoint in touchpoints:
        by_customer[touchpoint.customer_id].append(touchpoint)
    new_journeys: list[CustomerJourney] = []
    changed_journeys: list[tuple[int, str, dt.datetime]] = []  # id, stage, since
    by_id = getattr(by, "pk", None)
    transitions: list[StageTransition] = []
    entered_at: dict[int, dt.datetime] = {}
    for customer_id, customer_touchpoints in by_customer.items():
        journey = journeys.get(customer_id)
        _pk, stage, since = journey if journey else (None, "", None)
        chain: list[StageTransition] = []
        for touchpoint in sorted(customer_touchpoints, key=lambda t: (t.occurred_at, t.pk)):
            if stage_rank(touchpoint.stage) <= stage_rank(stage):
                continue
            at = touchpoint.occurred_at if since is None else max(touchpoint.occurred_at, since)
            # id, customer, from, to, at, ended_at, is_manual, reason, touchpoint, channel, by
            transition = instance(
                StageTransition,
                (
                    None,
                    customer_id,
                    stage,
                    touchpoint.stage,
                    at,
                    None,
                    False,
                    "",
                    touchpoint.pk,
                    touchpoint.channel,
                    # Whoever recorded the touchpoint (a pending one, folded with this batch, may be another's).
                    touchpoint.recorded_by_user_id,
                ),
            )
            _TRANSITION_TOUCHPOINT.set_cached_value(transition, touchpoint)
            if by is not None and touchpoint.recorded_by_user_id == by_id:
                _TRANSITION_BY.set_cached_value(transition, by)
            chain.append(transition)
            stage, since = touchpoint.stage, at
        if not chain:
            continue
        for earlier, later in pairwise(chain):
            earlier.ended_at = later.at
        transitions.extend(chain)
        if journey is None:
            # id, customer, stage, stage_since, created_at, updated_at (Model.__init__ cost 0.1 ms a journey)
            new_journeys.append(instance(CustomerJourney, (None, customer_id, stage, since, chain[0].at, now)))
        else:
            entered_at[customer_id] = chain[0].at
            changed_journeys.append((journey[0], stage, since))
    if not transitions:
        return []
    # Keeps the funnel's rollups in step (a large batch only notes its transitions in the funnel's journal).
    funnel = FunnelTracker({t.customer_id for t in transitions}, sources, appending=True)
    closed_ids = _close_open_transitions(entered_at)
    copy_insert(StageTransition, transitions)
    funnel.record_appended(closed=entered_at, closed_ids=closed_ids, added=transitions, sources=sources)
    copy_insert(CustomerJourney, new_journeys)
    if changed_journeys:
        _journeys_update(changed_journeys, now=now)
    return transitions


def _close_open_transitions(entered_at: dict[int, dt.datetime]) -> list[tuple[int, int]]:
    """The customers in ``entered_at`` leave their current stage at that time (never before they entered it).
    Returns the (customer id, transition id) of the transitions so ended."""
    if not entered_at:
        return []
    if connection.vendor == "postgresql":
        rows = sorted(entered_at.items())
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE touchpoints_stagetransition AS t SET ended_at = GREATEST(v.at, t.at)"
                " FROM unnest(%s::bigint[], %s::timestamptz[]) AS v(customer_id, at)"
                " WHERE t.customer_id = v.customer_id AND t.ended_at IS NULL RETURNING t.customer_id, t.id",
                [pg_array(customer_id for customer_id, _ in rows), pg_array(at for _, at in rows)],
            )
            return cursor.fetchall()
    open_rows = list(
        StageTransition.objects.filter(customer_id__in=list(entered_at), ended_at__isnull=True).only(
            "id", "customer_id", "at"
        )
    )
    for row in open_rows:
        row.ended_at = max(entered_at[row.customer_id], row.at)
    if open_rows:
        StageTransition.objects.bulk_update(open_rows, ["ended_at"])
    return [(row.customer_id, row.pk) for row in open_rows]


def _journeys_update(journeys: list[tuple[int, str, dt.datetime]], *, now: dt.datetime) -> None:
    """Set the (id, stage, since) of these journeys."""
    journeys = sorted(journeys)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE touchpoints_customerjourney AS j SET stage = v.stage, stage_since = v.since, updated_at = %s"
                " FROM unnest(%s::bigint[], %s::varchar[], %s::timestamptz[]) AS v(id, stage, since) WHERE j.id = v.id",
                [
                    now,
                    pg_array(j[0] for j in journeys),
                    pg_array(j[1] for j in journeys),
                    pg_array(j[2] for j in journeys),
                ],
            )
        return
    CustomerJourney.objects.bulk_update(
        [CustomerJourney(id=pk, stage=stage, stage_since=since, updated_at=now) for pk, stage, since in journeys],
        ["stage", "stage_since", "updated_at"],
    )


def announce(*, touchpoints: list[Touchpoint], transitions: list[StageTransition]) -> None:
    """The events of a committed batch, each receiver's failure logged (run from ``transaction.on_commit``)."""
    for touchpoint in touchpoints:
        send_logged(events.touchpoint_recorded, sender=Touchpoint, touchpoint=touchpoint)
    for transition in transitions:
        send_logged(events.journey_stage_changed, sender=StageTransition, transition=transition)


@transaction.atomic
def journey_stage_move(
    *, customer: Customer, to_stage: str, reason: str, by: AbstractBaseUser | None
) -> StageTransition:
    """Move a customer to any stage by hand (forward or back), with a reason; recorded like any transition."""
    if to_stage not in Stage.values:
        raise ValidationError({"to_stage": _("Unknown stage.")})
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationError({"reason": _("Say why the customer is moved.")})
    if len(reason) > 500:
        raise ValidationError({"reason": _("Keep the reason to 500 characters.")})
    Customer.objects.select_for_update(no_key=True).filter(pk=customer.pk).values_list("pk", flat=True).get()
    from touchpoints.services.pending import pending_fold  # (it calls back into this module)

    pending_fold([customer.pk])  # an API batch's advancement not yet run comes before this move
    journey = CustomerJourney.objects.filter(customer=customer).first()
    if journey is not None and journey.stage == to_stage:
        raise ValidationError({"to_stage": _("The customer is already in this stage.")})
    now = timezone.now()
    at = max(now, journey.stage_since) if journey else now
    funnel = FunnelTracker([customer.pk])
    _close_open_transitions({customer.pk: at})
    transition = StageTransition.objects.create(
        customer=customer,
        from_stage=journey.stage if journey else "",
        to_stage=to_stage,
        at=at,
        is_manual=True,
        reason=reason,
        by=by,
    )
    funnel.record()
    if journey is None:
        CustomerJourney.objects.create(customer=customer, stage=to_stage, stage_since=at, created_at=at)
    else:
        journey.stage, journey.stage_since = to_stage, at
        journey.save(update_fields=["stage", "stage_since", "updated_at"])
    transaction.on_commit(lambda: announce(touchpoints=[], transitions=[transition]))
    logger.info(
        "journey stage moved customer=%s %s->%s by=%s",
        customer.pk,
        transition.from_stage,
        to_stage,
        getattr(by, "pk", None),
    )
    return transition


def journey_merge(*, primary: Customer, duplicate: Customer) -> None:
    """Before a merge moves the rows: keep one journey, the one further along (``customer_merging`` receiver)."""
    from touchpoints.services.pending import pending_fold  # (it calls back into this module)

    pending_fold([primary.pk, duplicate.pk])  # each journey as its touchpoints make it, before they move
    funnel_merge(primary=primary, duplicate=duplicate)  # the duplicate's transitions count as the primary's
    journeys = {
        j.customer_id: j
        for j in CustomerJourney.objects.select_for_update().filter(customer_id__in=[primary.pk, duplicate.pk])
    }
    kept, dropped = journeys.get(primary.pk), journeys.get(duplicate.pk)
    if kept is None or dropped is None:
        return  # nothing clashes: the duplicate's journey, if any, simply moves
    if dropped.stage_rank > kept.stage_rank:
        kept.stage, kept.stage_since = dropped.stage, dropped.stage_since
        kept.save(update_fields=["stage", "stage_since", "updated_at"])
    dropped.delete()
