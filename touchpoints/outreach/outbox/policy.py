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
