"""Greetings are rows (one per customer, kind and occasion), scheduled by the daily job or by the event that
caused them, and handed to the outreach outbox by the dispatcher."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Min, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from touchpoints.outreach import outbox

from .. import reasons
from ..models import Greeting, LedgerEntry, Membership
from .dates import greeting_send_after, local_today, same_day_days
from .ledger import Kind, Source, _credit, _existing, _lock

logger = logging.getLogger(__name__)


GREETING_COLUMNS = ["customer_id", "membership_id", "kind", "occasion", "due_on", "status", "detail", "bonus_points",
                    "error", "created_at"]  # fmt: skip


def _greetings_insert(greetings: list[Greeting]) -> int:
    """Insert greetings, skipping those already there (one per customer, kind and occasion): multi-row
    ``INSERT … ON CONFLICT DO NOTHING`` statements (PostgreSQL and SQLite alike). Returns how many were new."""
    if not greetings:
        return 0
    table = connection.ops.quote_name(Greeting._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(c) for c in GREETING_COLUMNS)
    row = "(" + ", ".join(["%s"] * len(GREETING_COLUMNS)) + ")"
    now = timezone.now()
    new = 0
    with connection.cursor() as cursor:
        for start in range(0, len(greetings), 500):
            batch = greetings[start : start + 500]
            params = [
                value
                for g in batch
                for value in (
                    g.customer_id,
                    g.membership_id,
                    g.kind,
                    g.occasion,
                    g.due_on,
                    Greeting.Status.SCHEDULED,
                    g.detail,
                    g.bonus_points,
                    "",
                    now,
                )
            ]
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES {', '.join([row] * len(batch))} "  # noqa: S608 - no input
                "ON CONFLICT DO NOTHING",
                params,
            )
            new += cursor.rowcount
    return new


def _greeting_schedule(
    membership: Membership, *, kind: str, occasion: str, detail: str, bonus: int, due_on: dt.date | None = None
) -> None:
    """A greeting caused by an event (tier upgrade, Nth purchase), due that day (default today); the
    dispatcher sends it."""
    Greeting.objects.bulk_create(
        [
            Greeting(
                customer_id=membership.customer_id,
                membership_id=membership.pk,
                kind=kind,
                occasion=occasion,
                detail=detail[:200],
                bonus_points=bonus,
                due_on=due_on or local_today(),
            )
        ],
        ignore_conflicts=True,
    )


def birthday_memberships(today: dt.date):
    """(customer id, membership id) of today's birthdays among active members, first membership per customer.

    Found through the expression index on the birth date's month and day (migration 0003), never a scan.
    """
    return (
        Membership.objects.filter(
            status=Membership.Status.ACTIVE,
            programme__is_active=True,
            customer__birth_date__month=today.month,
            customer__birth_date__day__in=same_day_days(today),
        )
        .order_by()
        .values("customer_id")
        .annotate(membership_id=Min("pk"))
        .values_list("customer_id", "membership_id")
    )


def milestones_schedule(*, today: dt.date | None = None) -> dict[str, int]:
    """The daily milestone job: today's birthdays and membership anniversaries become greetings (rows),
    once each however often it runs; ``greetings_dispatch`` then sends them."""
    today = today or local_today()
    birthdays = [
        Greeting(
            customer_id=customer_id,
            membership_id=membership_id,
            kind=Greeting.Kind.BIRTHDAY,
            occasion=str(today.year),
            due_on=today,
        )
        for customer_id, membership_id in birthday_memberships(today)
    ]
    anniversaries = [
        Greeting(
            customer_id=customer_id,
            membership_id=membership_id,
            kind=Greeting.Kind.ANNIVERSARY,
            occasion=f"{programme_id}:{today.year}",
            detail=str(today.year - joined_on.year),
            due_on=today,
        )
        for customer_id, membership_id, programme_id, joined_on in Membership.objects.filter(
            status=Membership.Status.ACTIVE,
            programme__is_active=True,
            joined_on__month=today.month,
            joined_on__day__in=same_day_days(today),
            joined_on__lt=today.replace(month=1, day=1),
        )
        .order_by()
        .values_list("customer_id", "pk", "programme_id", "joined_on")
    ]
    return {
        "birthdays": _greetings_insert(birthdays),
        "anniversaries": _greetings_insert(anniversaries),
    }


GREETING_BONUS_FIELD = {
    Greeting.Kind.BIRTHDAY: "birthday_bonus",
    Greeting.Kind.ANNIVERSARY: "anniversary_bonus",
    Greeting.Kind.PURCHASE: "purchase_milestone_bonus",
}
# Greetings are marketing (consent needed); the expiry reminder is about the member's own account.
GREETING_PURPOSE = {Greeting.Kind.POINTS_EXPIRING: "transactional"}
GREETING_TEMPLATES = {
    Greeting.Kind.BIRTHDAY: "loyalty-birthday",
    Greeting.Kind.ANNIVERSARY: "loyalty-anniversary",
    Greeting.Kind.TIER_UPGRADE: "loyalty-tier-upgrade",
    Greeting.Kind.PURCHASE: "loyalty-purchase-milestone",
    Greeting.Kind.POINTS_EXPIRING: "loyalty-points-expiring",
}


def greetings_dispatch(*, today: dt.date | None = None, limit: int = 200) -> int:
    """Send up to ``limit`` due greetings, each in its own short transaction: it claims its row
    (``select_for_update(skip_locked=True)`` on a row still ``scheduled``, so two workers never take the same
    one), credits its bonus through the ledger (keyed by the occasion) and hands its message to the outbox
    (keyed by the greeting). Returns how many were processed; the task calls it until none are."""
    today = today or local_today()
    candidates = list(Greeting.objects.due(today).order_by("due_on", "id").values_list("pk", flat=True)[:limit])
    processed = 0
    for pk in candidates:
        try:
            with transaction.atomic():
                greeting = (
                    Greeting.objects.select_for_update(skip_locked=True, of=("self",))
                    .select_related("customer", "membership__programme", "membership__tier")
                    .filter(pk=pk, status=Greeting.Status.SCHEDULED)
                    .first()
                )
                if greeting is None:  # taken by another worker, or done meanwhile
                    continue
                _greeting_process(greeting, today=today)
        except Exception as exc:
            logger.exception("loyalty greeting %s failed", pk)
            Greeting.objects.filter(pk=pk, status=Greeting.Status.SCHEDULED).update(
                status=Greeting.Status.FAILED, error=f"{type(exc).__name__}: {exc}"[:300], processed_at=timezone.now()
            )
        processed += 1
    return processed


def _greeting_process(greeting: Greeting, *, today: dt.date) -> None:
    bonus = _greeting_bonus(greeting)
    context = _greeting_context(greeting, bonus=bonus)
    status, message_id, error = Greeting.Status.SENT, None, ""
    if context is None:
        status, error = Greeting.Status.NOT_SENT, "nothing left to remind of"
    else:
        status, message_id, error = greeting_message_enqueue(
            greeting=greeting,
            purpose=GREETING_PURPOSE.get(greeting.kind, "marketing"),
            template_slug=GREETING_TEMPLATES[greeting.kind],
            context=context,
            send_after=max(greeting_send_after(greeting.due_on), timezone.now()),
        )
    Greeting.objects.filter(pk=greeting.pk).update(
        status=status, message_id=message_id, bonus_points=bonus, error=error[:300], processed_at=timezone.now()
    )


def _greeting_bonus(greeting: Greeting) -> int:
    """Credit the greeting's bonus: for a birthday in each active membership whose programme gives one, else
    in the greeting's membership. The key holds the occasion, so a second run credits nothing."""
    field = GREETING_BONUS_FIELD.get(greeting.kind)
    if field is None:
        return 0
    if greeting.kind == Greeting.Kind.BIRTHDAY:
        membership_ids = list(
            Membership.objects.active()
            .filter(customer_id=greeting.customer_id, programme__is_active=True, **{f"programme__{field}__gt": 0})
            .order_by("pk")
            .values_list("pk", flat=True)
        )
    else:
        membership_ids = [greeting.membership_id]
    keys = {
        Greeting.Kind.BIRTHDAY: reasons.BIRTHDAY_BONUS,
        Greeting.Kind.ANNIVERSARY: reasons.ANNIVERSARY_BONUS,
        Greeting.Kind.PURCHASE: reasons.PURCHASE_BONUS,
    }
    total = 0
    for membership_id in membership_ids:
        membership = _lock(membership_id)
        points = getattr(membership.programme, field)
        if not points or not membership.is_active or not membership.programme.is_active:
            continue
        key = f"greeting:{greeting.kind}:{greeting.occasion}:c{greeting.customer_id}:m{membership_id}"
        entry = _existing(key)
        if entry is None:
            entry = _credit(
                membership,
                kind=Kind.BONUS,
                points=points,
                **reasons.reason(keys[greeting.kind], occasion=greeting.occasion, detail=greeting.detail),
                key=key,
                source=Source.JOB,
                source_ref=f"greeting:{greeting.pk}",
            )
        total += entry.points
    return total


def _greeting_context(greeting: Greeting, *, bonus: int) -> dict[str, Any] | None:
    membership = greeting.membership
    context: dict[str, Any] = {
        "programme": membership.programme.name,
        "member_number": membership.member_number,
        "tier": membership.tier.name if membership.tier_id else "",
        "bonus_points": bonus,
        "shop_name": settings.TSUNAGU_SHOP_NAME,
    }
    if greeting.kind == Greeting.Kind.POINTS_EXPIRING:
        expires_on = dt.date.fromisoformat(greeting.detail)
        points = LedgerEntry.objects.filter(
            membership_id=membership.pk, remaining__gt=0, expires_on=expires_on
        ).aggregate(n=Coalesce(Sum("remaining"), 0))["n"]
        if not points:
            return None
        context.update(expiring_points=points, expires_on=expires_on.isoformat())
    elif greeting.kind == Greeting.Kind.PURCHASE:
        context["purchase_number"] = greeting.detail
    elif greeting.kind == Greeting.Kind.ANNIVERSARY:
        context["years"] = greeting.detail
    elif greeting.kind == Greeting.Kind.TIER_UPGRADE:
        context["new_tier"] = greeting.detail
    return context


def greeting_message_enqueue(
    *, greeting: Greeting, purpose: str, template_slug: str, context: dict[str, Any], send_after: dt.datetime
) -> tuple[str, int | None, str]:
    """Hand a greeting to the outreach outbox (touchpoints.outreach.outbox), which checks consent and sends it once
    per key. Returns (greeting status, outbox message id, error)."""
    message = outbox.message_enqueue(
        customer=greeting.customer,
        key=f"loyalty:greeting:{greeting.pk}",
        purpose=purpose,
        template_slug=template_slug,
        context=context,
        send_after=send_after,
        source_app="loyalty",
        source_ref=f"greeting:{greeting.pk}",
    )
    if message.status == message.Status.SKIPPED:
        return Greeting.Status.NOT_SENT, message.pk, message.skip_reason
    return Greeting.Status.SENT, message.pk, ""
