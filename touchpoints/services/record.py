"""Recording touchpoints, one or a batch: validated in Python so a batch names each bad item, written all or
nothing, once per idempotency key; recording moves the customer's ``last_activity_at`` forward and advances
their stage (never back); ``events.touchpoint_recorded`` is sent after commit.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Customer
from customers.services import customers_touch
from touchpoints.models import ApiKey, Channel, Direction, Touchpoint, TouchpointType
from touchpoints.services.inserts import copy_insert, instance
from touchpoints.services.journeys import announce, customers_exist, customers_lock, journeys_advance, moves_journey
from touchpoints.services.pending import DEFER_FROM, journeys_after_commit, pending_add, pending_take

logger = logging.getLogger(__name__)

BATCH_MAX = 1000
# A touchpoint may be stamped a little ahead of our clock (the sender's clock runs fast), not more.
FUTURE_TOLERANCE = dt.timedelta(minutes=10)
METADATA_MAX_BYTES = 10_000
METADATA_MAX_DEPTH = 16
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


def _metadata_problem(value: Any) -> str | None:
    """ "depth" when containers nest deeper than METADATA_MAX_DEPTH, "nul" when a string holds a NUL, else None.

    Walked with a stack, not recursion: nesting is the client's to choose."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return "nul"
        elif isinstance(item, dict | list | tuple):
            if depth > METADATA_MAX_DEPTH:
                return "depth"
            if isinstance(item, dict):
                stack.extend((key, depth) for key in item)
                stack.extend((child, depth + 1) for child in item.values())
            else:
                stack.extend((child, depth + 1) for child in item)
    return None


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
        problem = _metadata_problem(item.metadata)
        if problem == "depth":
            add("metadata", _("Metadata nests at most %(n)d levels deep.") % {"n": METADATA_MAX_DEPTH})
        elif problem == "nul":
            add("metadata", _("Null characters are not allowed."))
        else:
            try:
                size = len(json.dumps(item.metadata, ensure_ascii=False).encode())
            except (TypeError, ValueError):
                add("metadata", _("Metadata must be a JSON object."))
            else:
                if size > METADATA_MAX_BYTES:
                    add("metadata", _("Metadata is limited to %(n)d bytes.") % {"n": METADATA_MAX_BYTES})
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
    defer_journeys: bool = False,
) -> list[Touchpoint]:
    """Record ``items`` all-or-nothing and return one touchpoint per item, in order.

    ``defer_journeys`` (the API's large batches): from ``pending.DEFER_FROM`` touchpoints that move journeys, the
    stages are advanced by a task right after the commit instead of in this transaction (``services.pending``).

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
            instance(
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
    moving = [t for t in new if moves_journey(t)]
    deferred = defer_journeys and len(moving) >= DEFER_FROM
    if deferred or not moving:  # no journey is written here: the customers need only exist (and stay, until commit)
        sources, journeys = customers_exist(customer_ids), {}
    else:
        sources, journeys = customers_lock(customer_ids)  # and their sources (for the funnel) and journeys
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

    if deferred:
        pending_add(moving)
        journeys_after_commit(moving)
        transitions = []
    else:
        # Touchpoints an earlier large batch left pending go first, so the stages follow the order of events.
        pending = pending_take(sorted({t.customer_id for t in moving})) if moving else []
        earlier = [t for t in pending if t.customer_id in sources and moves_journey(t)]
        transitions = journeys_advance(earlier + moving, by=by, now=now, sources=sources, journeys=journeys)
    transaction.on_commit(lambda: announce(touchpoints=new, transitions=transitions))
    logger.info(
        "touchpoints recorded new=%d replayed=%d transitions=%d deferred=%s by=%s api_key=%s",
        len(new),
        len(items) - len(new),
        len(transitions),
        deferred,
        getattr(by, "pk", None),
        getattr(api_key, "pk", None),
    )
    return results


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


_TYPE_CACHE = Touchpoint._meta.get_field("type")
_USER_CACHE = Touchpoint._meta.get_field("recorded_by_user")
_API_KEY_CACHE = Touchpoint._meta.get_field("recorded_by_api_key")


def _touchpoints_insert(touchpoints: list[Touchpoint]) -> None:
    """Insert new touchpoints and set their ids: COPY on PostgreSQL (a batch of 1,000 in a few milliseconds of
    Python), ``bulk_create`` elsewhere. A duplicate idempotency key raises IntegrityError either way."""
    copy_insert(Touchpoint, touchpoints)


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
