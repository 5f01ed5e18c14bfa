"""Writes to the journey: touchpoints, stages, the catalogue and API keys.

Views, the admin, the API, importers and tasks all come here, so each rule is written once:
- a touchpoint is recorded once per idempotency key (a retry gets the first one back);
- recording moves the customer's ``last_activity_at`` forward and advances their stage when the
  touchpoint's stage is later (never back: only ``journey_stage_move`` moves a customer back);
- every change of stage is a ``StageTransition`` row, closed (``ended_at``) by the next one;
- ``events.touchpoint_recorded`` / ``events.journey_stage_changed`` are sent after commit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
import secrets
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cache
from itertools import pairwise
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, models, transaction
from django.db.models.base import ModelState
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Customer
from customers.pgarray import pg_array
from customers.services import customers_touch

from . import events
from .catalogue import type_menu_forget
from .funnel import COPY_FROM, FunnelTracker, funnel_merge
from .models import (
    ApiKey,
    Channel,
    CustomerJourney,
    Direction,
    Stage,
    StageTransition,
    Touchpoint,
    TouchpointType,
    stage_rank,
)

logger = logging.getLogger(__name__)

BATCH_MAX = 1000
# A touchpoint may be stamped a little ahead of our clock (the sender's clock runs fast), not more.
FUTURE_TOLERANCE = dt.timedelta(minutes=10)
METADATA_MAX_BYTES = 10_000
AMOUNT_MAX = Decimal("999999999999.99")
CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
CHANNELS = frozenset(Channel.values)
DIRECTIONS = frozenset(Direction.values)
SOURCES = frozenset(Touchpoint.Source.values)
TEXT_LIMITS = {"summary": 1000, "order_reference": 100, "campaign": 100, "utm_source": 100, "idempotency_key": 200}


@dataclass
class TouchpointData:
    """One touchpoint to record, its references already resolved (the API resolves them in bulk)."""

    customer_id: int
    touchpoint_type: TouchpointType
    channel: str = Channel.OTHER
    direction: str = Direction.INBOUND
    occurred_at: dt.datetime | None = None
    summary: str = ""
    amount: Decimal | None = None
    currency: str = "JPY"
    order_reference: str = ""
    campaign: str = ""
    utm_source: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    idempotency_key: str = ""


class TouchpointBatchInvalid(ValidationError):
    """Some items of a batch are invalid, so none was recorded. ``errors``: {index: {field: [messages]}}."""

    def __init__(self, errors: dict[int, dict[str, list[str]]]):
        self.errors = dict(sorted(errors.items()))
        super().__init__(
            _("%(bad)d touchpoint(s) are invalid; none were recorded.") % {"bad": len(errors)}, code="batch_invalid"
        )


def _contains_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_contains_nul(k) or _contains_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_contains_nul(v) for v in value)
    return False


def _item_errors(item: TouchpointData, now: dt.datetime) -> dict[str, list[str]]:
    """Everything the database would refuse, checked in Python so that a batch can name each bad item."""
    errors: dict[str, list[str]] = {}

    def add(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    if not item.touchpoint_type.is_active:
        add("type", _("This touchpoint type is no longer in use."))
    if item.channel not in CHANNELS:
        add("channel", _("Unknown channel."))
    if item.direction not in DIRECTIONS:
        add("direction", _("Unknown direction."))
    if item.occurred_at is not None:
        if timezone.is_naive(item.occurred_at):
            add("occurred_at", _("Give a time zone."))
        elif item.occurred_at > now + FUTURE_TOLERANCE:
            add("occurred_at", _("A touchpoint cannot happen in the future."))
        elif item.occurred_at.year < 1970:
            add("occurred_at", _("This date is too far in the past."))
    for name, limit in TEXT_LIMITS.items():
        value = getattr(item, name)
        if not isinstance(value, str):
            add(name, _("Enter text."))
        elif len(value) > limit:
            add(name, _("Keep this to %(limit)d characters.") % {"limit": limit})
        elif "\x00" in value:
            add(name, _("Null characters are not allowed."))
    if item.amount is not None:
        try:
            amount = Decimal(item.amount)
            if (
                not amount.is_finite()
                or amount < 0
                or amount > AMOUNT_MAX
                or amount != amount.quantize(Decimal("0.01"))
            ):
                raise InvalidOperation
        except (InvalidOperation, TypeError, ValueError):
            add("amount", _("Enter an amount of at least 0 with at most two decimals."))
        else:
            if item.touchpoint_type.kind == TouchpointType.Kind.INTERACTION:
                # Revenue, CLV and tiers count purchases and returns: an amount elsewhere would count for nothing.
                add("amount", _("Only purchases and returns carry an amount."))
    if not isinstance(item.currency, str) or not CURRENCY_RE.match(item.currency):
        add("currency", _("Enter a three-letter ISO 4217 currency code, e.g. JPY."))
    if not isinstance(item.metadata, dict):
        add("metadata", _("Metadata must be a JSON object."))
    elif item.metadata:
        try:
            size = len(json.dumps(item.metadata, ensure_ascii=False).encode())
        except (TypeError, ValueError):
            add("metadata", _("Metadata must be a JSON object."))
        else:
            if size > METADATA_MAX_BYTES:
                add("metadata", _("Metadata is limited to %(n)d bytes.") % {"n": METADATA_MAX_BYTES})
            elif _contains_nul(item.metadata):
                add("metadata", _("Null characters are not allowed."))
    return errors


def _default_source(by: AbstractBaseUser | None, api_key: ApiKey | None) -> str:
    if api_key is not None:
        return Touchpoint.Source.API
    if by is not None:
        return Touchpoint.Source.STAFF
    return Touchpoint.Source.SYSTEM


@transaction.atomic
def touchpoint_record_batch(
    *,
    items: Sequence[TouchpointData],
    by: AbstractBaseUser | None = None,
    api_key: ApiKey | None = None,
    source: str = "",
) -> list[Touchpoint]:
    """Record ``items`` all-or-nothing and return one touchpoint per item, in order.

    An item whose idempotency key was recorded before gets that touchpoint back, with
    ``touchpoint.replayed = True`` (new ones have ``replayed = False``); nothing else happens for it.
    Raises ``TouchpointBatchInvalid`` naming every bad item; then nothing is written.
    On PostgreSQL the work is a constant dozen statements whatever the batch size (touchpoints and stage
    changes are COPYed, related rows updated from arrays); a batch of 1,000 takes about a fifth of a second, and
    from ``funnel.JOURNAL_FROM`` stage changes the funnel counts them at its next fold.
    """
    if not items:
        return []
    if len(items) > BATCH_MAX:
        raise ValidationError(_("A batch holds at most %(n)d touchpoints.") % {"n": BATCH_MAX}, code="batch_too_large")
    now = timezone.now()
    source = source or _default_source(by, api_key)
    if source not in SOURCES:
        raise ValueError(f"unknown touchpoint source {source!r}")

    errors: dict[int, dict[str, list[str]]] = {}
    first_index_of_key: dict[str, int] = {}
    for index, item in enumerate(items):
        item_errors = _item_errors(item, now)
        if item.idempotency_key and isinstance(item.idempotency_key, str):
            if item.idempotency_key in first_index_of_key:
                item_errors.setdefault("idempotency_key", []).append(
                    _("Repeats the key of item %(index)d in this batch.")
                    % {"index": first_index_of_key[item.idempotency_key]}
                )
            else:
                first_index_of_key[item.idempotency_key] = index
        if item_errors:
            errors[index] = item_errors
    if errors:
        raise TouchpointBatchInvalid(errors)

    for attempt in (1, 2):
        existing = _existing_by_key(list(first_index_of_key), items, first_index_of_key)
        user_id, api_key_id = getattr(by, "pk", None), getattr(api_key, "pk", None)
        # Values in the order of Touchpoint's fields (a test holds it), made instances without Model.__init__.
        new = [
            _instance(
                Touchpoint,
                (
                    None,
                    item.customer_id,
                    item.touchpoint_type.pk,
                    item.touchpoint_type.stage,
                    item.channel,
                    item.direction,
                    item.occurred_at or now,
                    item.summary.strip(),
                    item.amount,
                    item.currency,
                    item.order_reference.strip(),
                    item.campaign.strip(),
                    item.utm_source.strip(),
                    item.metadata or {},
                    source,
                    user_id,
                    api_key_id,
                    item.idempotency_key,
                    now,
                ),
            )
            for item in items
            if not (item.idempotency_key and item.idempotency_key in existing)
        ]
        # The related rows are at hand: cache them rather than let templates, events and answers query them.
        fresh_items = (item for item in items if not (item.idempotency_key and item.idempotency_key in existing))
        for touchpoint, item in zip(new, fresh_items, strict=True):
            _TYPE_CACHE.set_cached_value(touchpoint, item.touchpoint_type)
            if by is not None:
                _USER_CACHE.set_cached_value(touchpoint, by)
            if api_key is not None:
                _API_KEY_CACHE.set_cached_value(touchpoint, api_key)
        if not first_index_of_key:  # no idempotency key, no race to lose: no savepoint (a round trip each way)
            _touchpoints_insert(new)
            break
        try:
            with transaction.atomic():
                _touchpoints_insert(new)
            break
        except IntegrityError:
            # A concurrent request recorded one of our keys first: read it back and try once more.
            if attempt == 2 or not first_index_of_key:
                raise
    # Serialise the journey work of each customer (and prove the customers exist), in id order. After the insert,
    # which needs no lock (its foreign keys are checked at commit), so that concurrent batches sharing a customer
    # wait on each other for less time; an unknown customer rolls the insert back with the rest.
    customer_ids = sorted({item.customer_id for item in items})
    sources, journeys = _customers_lock(customer_ids)  # and their sources (for the funnel's rollups) and journeys
    for index, item in enumerate(items):
        if item.customer_id not in sources:
            errors[index] = {"customer": [_("Unknown customer.")]}
    if errors:
        raise TouchpointBatchInvalid(errors)
    for touchpoint in new:
        touchpoint.replayed = False
    fresh = iter(new)
    results = [existing[item.idempotency_key] if item.idempotency_key in existing else next(fresh) for item in items]
    if not new:
        return results

    latest: dict[int, dt.datetime] = {}
    for touchpoint in new:
        if touchpoint.customer_id not in latest or touchpoint.occurred_at > latest[touchpoint.customer_id]:
            latest[touchpoint.customer_id] = touchpoint.occurred_at
    customers_touch(at_by_customer=latest)

    transitions = _journeys_advance(
        [t for t in new if moves_journey(t)], by=by, now=now, sources=sources, journeys=journeys
    )
    transaction.on_commit(lambda: _announce(touchpoints=new, transitions=transitions))
    logger.info(
        "touchpoints recorded new=%d replayed=%d transitions=%d by=%s api_key=%s",
        len(new),
        len(items) - len(new),
        len(transitions),
        getattr(by, "pk", None),
        getattr(api_key, "pk", None),
    )
    return results


@cache
def _attnames(model: type[models.Model]) -> tuple[str, ...]:
    return tuple(f.attname for f in model._meta.concrete_fields)


def _instance(model: type[models.Model], row: tuple) -> models.Model:
    """An unsaved instance of ``model`` from ``row`` (a value for every concrete field, in field order): what
    ``model(*row)`` makes, without ``Model.__init__``'s work field by field, which a batch of a thousand touchpoints
    and their stage changes paid two thousand times. For models with no pre_init/post_init receivers (a test holds
    both the equality and that)."""
    obj = model.__new__(model)
    obj.__dict__.update(zip(_attnames(model), row, strict=True))
    obj._state = ModelState()
    return obj


_TRANSITION_TOUCHPOINT = StageTransition._meta.get_field("touchpoint")
_TRANSITION_BY = StageTransition._meta.get_field("by")
_TYPE_CACHE = Touchpoint._meta.get_field("type")
_USER_CACHE = Touchpoint._meta.get_field("recorded_by_user")
_API_KEY_CACHE = Touchpoint._meta.get_field("recorded_by_api_key")


def _touchpoints_insert(touchpoints: list[Touchpoint]) -> None:
    """Insert new touchpoints and set their ids: COPY on PostgreSQL (a batch of 1,000 in a few milliseconds of
    Python), ``bulk_create`` elsewhere. A duplicate idempotency key raises IntegrityError either way."""
    _copy_insert(Touchpoint, touchpoints)


def _copy_insert(model: type[models.Model], objects: list) -> None:
    """Insert ``objects`` and set their ids: ids from the sequence and one COPY on PostgreSQL for a batch,
    ``bulk_create`` (one INSERT … RETURNING, one round trip) for a few or elsewhere. Constraint violations raise
    IntegrityError either way."""
    if not objects:
        return
    if connection.vendor != "postgresql" or len(objects) < COPY_FROM:
        model.objects.bulk_create(objects)
        return
    from psycopg.types.json import Jsonb

    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    attnames = [f.attname for f in fields]
    json_at = [i for i, f in enumerate(fields) if isinstance(f, models.JSONField)]
    quote = connection.ops.quote_name
    table = model._meta.db_table
    columns = ", ".join(quote(column) for column in ["id", *[f.column for f in fields]])
    with connection.cursor() as cursor, connection.wrap_database_errors:
        # The sequence named as a constant: pg_get_serial_sequence() per row cost ten microseconds an id.
        cursor.execute(f"SELECT nextval({_sequence(cursor, table)}) FROM generate_series(1, %s)", [len(objects)])  # noqa: S608
        pk_name = model._meta.pk.attname
        for obj, (pk,) in zip(objects, cursor.fetchall(), strict=True):
            obj.__dict__[pk_name] = pk
        with cursor.cursor.copy(f"COPY {quote(table)} ({columns}) FROM STDIN") as copy:
            for obj in objects:
                values = obj.__dict__
                row = [values[pk_name], *[values[name] for name in attnames]]
                for i in json_at:  # most metadata is empty: its text, without a json.dumps per row
                    row[i + 1] = "{}" if row[i + 1] == {} else Jsonb(row[i + 1])
                copy.write_row(row)
    alias = connection.alias
    for obj in objects:
        obj._state.adding = False
        obj._state.db = alias


_SEQUENCES: dict[str, str] = {}


def _sequence(cursor, table: str) -> str:
    """The id sequence of ``table`` as a regclass literal for SQL (looked up once per process)."""
    if table not in _SEQUENCES:
        cursor.execute("SELECT quote_literal(pg_get_serial_sequence(%s, 'id'))", [table])
        _SEQUENCES[table] = cursor.fetchone()[0] + "::regclass"
    return _SEQUENCES[table]


Journeys = dict[int, tuple[int, str, dt.datetime]]  # customer id -> (journey id, stage, since)


def _customers_lock(customer_ids: list[int]) -> tuple[dict[int, str], Journeys]:
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


def _existing_by_key(
    keys: list[str], items: Sequence[TouchpointData], first_index_of_key: dict[str, int]
) -> dict[str, Touchpoint]:
    """Touchpoints already recorded under these keys; a key reused for another customer or type is an error."""
    if not keys:
        return {}
    existing = {
        tp.idempotency_key: tp for tp in Touchpoint.objects.filter(idempotency_key__in=keys).select_related("type")
    }
    errors: dict[int, dict[str, list[str]]] = {}
    for key, touchpoint in existing.items():
        index = first_index_of_key[key]
        item = items[index]
        if touchpoint.customer_id != item.customer_id or touchpoint.type_id != item.touchpoint_type.pk:
            errors[index] = {
                "idempotency_key": [_("This key was already used for a different customer or touchpoint type.")]
            }
        touchpoint.replayed = True
    if errors:
        raise TouchpointBatchInvalid(errors)
    return existing


def moves_journey(touchpoint: Touchpoint) -> bool:
    """Whether a touchpoint may move its customer along the journey.

    The journey follows what the customer does. Messages Tsunagu sends by itself (follow-ups, newsletters,
    greetings, ticket replies: outbound, recorded by the system) appear on the timeline but move no one:
    otherwise a newsletter would put every awareness-stage lead into "retention".
    """
    return not (touchpoint.source == Touchpoint.Source.SYSTEM and touchpoint.direction == Direction.OUTBOUND)


def _journeys_advance(
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
            transition = _instance(
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
                    by_id,
                ),
            )
            _TRANSITION_TOUCHPOINT.set_cached_value(transition, touchpoint)
            if by is not None:
                _TRANSITION_BY.set_cached_value(transition, by)
            chain.append(transition)
            stage, since = touchpoint.stage, at
        if not chain:
            continue
        for earlier, later in pairwise(chain):
            earlier.ended_at = later.at
        transitions.extend(chain)
        if journey is None:
            new_journeys.append(
                CustomerJourney(customer_id=customer_id, stage=stage, stage_since=since, created_at=chain[0].at)
            )
        else:
            entered_at[customer_id] = chain[0].at
            changed_journeys.append((journey[0], stage, since))
    if not transitions:
        return []
    # Keeps the funnel's rollups in step (a large batch only notes its transitions in the funnel's journal).
    funnel = FunnelTracker({t.customer_id for t in transitions}, sources, appending=True)
    closed_ids = _close_open_transitions(entered_at)
    _copy_insert(StageTransition, transitions)
    funnel.record_appended(closed=entered_at, closed_ids=closed_ids, added=transitions, sources=sources)
    if new_journeys:
        CustomerJourney.objects.bulk_create(new_journeys)
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


def _announce(*, touchpoints: list[Touchpoint], transitions: list[StageTransition]) -> None:
    for touchpoint in touchpoints:
        for receiver, result in events.touchpoint_recorded.send_robust(sender=Touchpoint, touchpoint=touchpoint):
            if isinstance(result, Exception):
                logger.error("touchpoint_recorded receiver %r failed", receiver, exc_info=result)
    for transition in transitions:
        for receiver, result in events.journey_stage_changed.send_robust(sender=StageTransition, transition=transition):
            if isinstance(result, Exception):
                logger.error("journey_stage_changed receiver %r failed", receiver, exc_info=result)


@transaction.atomic
def touchpoint_record(
    *,
    customer: Customer,
    touchpoint_type: TouchpointType,
    channel: str = Channel.OTHER,
    direction: str = Direction.INBOUND,
    occurred_at: dt.datetime | None = None,
    summary: str = "",
    amount: Decimal | None = None,
    currency: str = "JPY",
    order_reference: str = "",
    campaign: str = "",
    utm_source: str = "",
    metadata: dict[str, Any] | None = None,
    idempotency_key: str = "",
    by: AbstractBaseUser | None = None,
    api_key: ApiKey | None = None,
    source: str = "",
) -> Touchpoint:
    """Record one touchpoint (see ``touchpoint_record_batch``); raises ValidationError with per-field messages."""
    item = TouchpointData(
        customer_id=customer.pk,
        touchpoint_type=touchpoint_type,
        channel=channel,
        direction=direction,
        occurred_at=occurred_at,
        summary=summary,
        amount=amount,
        currency=currency,
        order_reference=order_reference,
        campaign=campaign,
        utm_source=utm_source,
        metadata=metadata or {},
        idempotency_key=idempotency_key,
    )
    try:
        (touchpoint,) = touchpoint_record_batch(items=[item], by=by, api_key=api_key, source=source)
    except TouchpointBatchInvalid as exc:
        raise ValidationError(exc.errors[0]) from exc
    return touchpoint


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
    transaction.on_commit(lambda: _announce(touchpoints=[], transitions=[transition]))
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


# --- Catalogue ------------------------------------------------------------------------------------

TYPE_FIELDS = {"slug", "name", "stage", "kind", "description", "position", "is_active"}


@transaction.atomic
def touchpoint_type_save(*, data: dict[str, Any], touchpoint_type: TouchpointType | None = None) -> TouchpointType:
    """Create or edit a catalogue entry. A slug never changes once created (the API refers to it)."""
    unknown = set(data) - TYPE_FIELDS
    if unknown:
        raise ValueError(f"unknown touchpoint type fields: {sorted(unknown)}")
    creating = touchpoint_type is None
    touchpoint_type = touchpoint_type or TouchpointType()
    for key, value in data.items():
        if key == "slug" and not creating:
            continue
        setattr(touchpoint_type, key, value)
    touchpoint_type.name = " ".join((touchpoint_type.name or "").split())
    touchpoint_type.full_clean(validate_unique=False)
    if creating and TouchpointType.objects.filter(slug=touchpoint_type.slug).exists():
        raise ValidationError({"slug": _("A touchpoint type with this slug already exists.")})
    touchpoint_type.save()
    transaction.on_commit(type_menu_forget)
    return touchpoint_type


# --- API keys -------------------------------------------------------------------------------------

API_KEY_PREFIX = "tsu_"


def api_key_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def api_key_create(*, name: str, by: AbstractBaseUser | None) -> tuple[ApiKey, str]:
    """A new key from 32 random bytes. Returns the row and the key, which is shown once and never stored."""
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": _("Give the key a name, e.g. the system that will use it.")})
    if len(name) > 100:
        raise ValidationError({"name": _("Keep the name to 100 characters.")})
    raw = API_KEY_PREFIX + secrets.token_urlsafe(32)
    api_key = ApiKey.objects.create(name=name, prefix=raw[:12], key_hash=api_key_hash(raw), created_by=by)
    logger.info("api key created id=%s prefix=%s by=%s", api_key.pk, api_key.prefix, getattr(by, "pk", None))
    return api_key, raw


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey, by: AbstractBaseUser | None) -> ApiKey:
    ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    api_key.refresh_from_db(fields=["revoked_at"])
    logger.info("api key revoked id=%s by=%s", api_key.pk, getattr(by, "pk", None))
    return api_key


def api_key_authenticate(raw: str) -> ApiKey | None:
    """The active key matching ``raw``, or None. Looked up by its SHA-256, so the key itself is never compared."""
    if not raw or len(raw) > 200 or not raw.startswith(API_KEY_PREFIX):
        return None
    api_key = ApiKey.objects.filter(key_hash=api_key_hash(raw)).first()
    if api_key is None or api_key.revoked_at is not None:
        return None
    return api_key


LAST_USED_GRANULARITY = dt.timedelta(minutes=1)


def api_key_mark_used(*, api_key: ApiKey) -> None:
    """Record the key's use, at most once a minute (so a busy client does not write on every request)."""
    now = timezone.now()
    if api_key.last_used_at is not None and now - api_key.last_used_at < LAST_USED_GRANULARITY:
        return
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
    api_key.last_used_at = now
