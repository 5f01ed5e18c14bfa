"""Rate limits for the public pages (the feedback form, the member card's code form), counted in the cache
(Redis in production): a fixed window per client address, or per any other identity (an email address).

The count only grows for what was accepted (a person correcting a typo is not punished); a client over the
limit is told how long to wait, and what they typed is shown back to them, so nothing is lost.
"""

from __future__ import annotations

import hashlib
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

PERIODS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """ "5/hour" -> (5, 3600)."""
    count, _sep, period = (rate or "").partition("/")
    return int(count), PERIODS[period.strip().rstrip("s")]


def client_ip(request: HttpRequest) -> str:
    header = getattr(settings, "TSUNAGU_CLIENT_IP_HEADER", "")
    value = request.META.get(header, "") if header else ""
    if value:
        return value.split(",")[0].strip()[:64]
    return (request.META.get("REMOTE_ADDR") or "unknown")[:64]


def _key(scope: str, ident: str) -> str:
    digest = hashlib.sha256(ident.encode()).hexdigest()[:32]
    return f"tsunagu:rate:{scope}:{digest}"


def retry_after(*, scope: str, ident: str, rate: str) -> int:
    """0 when ``ident`` may go on; otherwise the seconds until its window ends."""
    limit, window = parse_rate(rate)
    key = _key(scope, ident)
    values = cache.get_many([key, f"{key}:start"])
    if int(values.get(key) or 0) < limit:
        return 0
    started = float(values.get(f"{key}:start") or time.time())
    return max(1, int(started + window - time.time()))


def hit(*, scope: str, ident: str, rate: str) -> None:
    """Count one accepted request of ``ident``."""
    _limit, window = parse_rate(rate)
    key = _key(scope, ident)
    if cache.add(key, 0, timeout=window):
        cache.set(f"{key}:start", time.time(), timeout=window)
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window)
        cache.set(f"{key}:start", time.time(), timeout=window)
