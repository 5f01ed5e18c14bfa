"""The outbox's settings and limits, and the quiet hours that defer marketing mail."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.utils import timezone

from customers.localtime import local_datetime
from customers.models import Customer

from ..models import OutboundMessage, Purpose

Status = OutboundMessage.Status
Skip = OutboundMessage.SkipReason

# The timeline entry of a sent message (a retention touchpoint of the seeded catalogue).
TIMELINE_TYPE_SLUG = "follow-up-email"
KEY_MAX = 150
# Sent rows older than this are recorded on the timeline by the sweeper if the sender could not.
TIMELINE_REPAIR_AFTER = dt.timedelta(minutes=2)
TIMELINE_REPAIR_WINDOW = dt.timedelta(days=7)
SWEEP_CHUNK = 1000
SWEEP_MAX = 200_000
UNSUBSCRIBE_SOURCE = Customer.ConsentSource.UNSUBSCRIBE
# Channels whose messages follow the customer's contact preferences (customers.consent), by purpose.
PREFERENCE_CHANNELS = frozenset({"email", "line", "sms"})


def preference_purpose(*, purpose: str, source_app: str, source_ref: str) -> str | None:
    """Which purpose of the preference centre a message serves: a survey invitation (even a transactional CSAT
    one), a loyalty greeting, or news and offers (any other marketing message); None for a service message
    (a code, a confirmation, a reply), which the preferences never stop."""
    if source_ref.startswith("survey:"):
        return "surveys"
    if purpose != Purpose.MARKETING:
        return None
    if source_app == "loyalty" and source_ref.startswith("greeting:"):
        return "greetings"
    return "news"


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


# --- Quiet hours ----------------------------------------------------------------------------------


def quiet_hours() -> tuple[dt.time, dt.time] | None:
    """The business's quiet hours, from ``TSUNAGU_QUIET_HOURS`` ("21:00-08:00"); None when unset."""
    raw = (_setting("TSUNAGU_QUIET_HOURS", "") or "").strip()
    if not raw:
        return None
    start, end = (dt.time.fromisoformat(part.strip()) for part in raw.split("-", 1))
    return (start, end) if start != end else None


def quiet_until(at: dt.datetime) -> dt.datetime | None:
    """When the quiet hours around ``at`` end (business time zone), or None when ``at`` is not in them."""
    hours = quiet_hours()
    if hours is None:
        return None
    start, end = hours
    local = timezone.localtime(at)
    t = local.time()
    if start > end:  # across midnight: 21:00-08:00
        if t >= start:
            day = local.date() + dt.timedelta(days=1)
        elif t < end:
            day = local.date()
        else:
            return None
    elif start <= t < end:
        day = local.date()
    else:
        return None
    return local_datetime(day, end)


# --- LINE consent ---------------------------------------------------------------------------------

_NOT_LOADED = object()


def line_user_of(customer: Customer):
    """The customer's LINE user for this channel's provider (None when not linked). A batch sets
    ``customer._line_user`` for all its customers first (``line_users_attach``) instead of one query each."""
    cached = customer.__dict__.get("_line_user", _NOT_LOADED)
    if cached is not _NOT_LOADED:
        return cached
    from ..line.client import provider
    from ..line.models import LineUser

    return LineUser.objects.filter(customer_id=customer.pk, provider=provider()).first()


def line_users_attach(customers) -> None:
    """Load the LINE users of these customers in one query (``line_user_of`` then reads them)."""
    from ..line.client import provider
    from ..line.models import LineUser

    customers = list(customers)
    users = {u.customer_id: u for u in LineUser.objects.filter(customer__in=customers, provider=provider())}
    for customer in customers:
        customer.__dict__["_line_user"] = users.get(customer.pk)


def line_skip_reason(customer: Customer, *, purpose: str) -> str:
    """LINE's own consent, in one place: the customer is linked to a LINE user who follows the shop's account
    (the follow event is kept as proof) and has not blocked it. The general rules (do not contact, marketing
    consent) are checked before this by ``skip_reason_for``. (A per-channel, per-purpose preference check
    belongs here too when it exists.)"""
    user = line_user_of(customer)
    if user is None or not user.following or user.blocked:
        return Skip.LINE_UNREACHABLE
    return ""
