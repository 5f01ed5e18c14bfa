"""Telling iPhones that a pass changed: an empty push per registered device, over HTTP/2 to APNs
(``TSUNAGU_APPLE_APNS_URL``), authenticated by a token (ES256 JWT of the team's APNs key, reused up to 50
minutes as Apple asks). The device then fetches the pass from the web service."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

import httpx
import jwt
from django.conf import settings

from .config import AppleConfig

logger = logging.getLogger(__name__)

TOKEN_SECONDS = 50 * 60
_token: dict[str, tuple[float, str]] = {}


def _bearer(config: AppleConfig) -> str:
    cached = _token.get(config.apns_key_id)
    if cached and time.time() - cached[0] < TOKEN_SECONDS:
        return cached[1]
    now = time.time()
    token = jwt.encode({"iss": config.team_id, "iat": int(now)}, config.apns_key, algorithm="ES256",
                       headers={"kid": config.apns_key_id})  # fmt: skip
    _token[config.apns_key_id] = (now, token)
    return token


def push(config: AppleConfig, push_tokens: Iterable[str]) -> dict[str, int]:
    """One push per device token; returns {token: HTTP status}. A 410 means the device removed the pass."""
    results: dict[str, int] = {}
    headers = {
        "authorization": f"bearer {_bearer(config)}",
        "apns-topic": config.pass_type_id,
        "apns-push-type": "background",
        "apns-priority": "5",
    }
    # http1=False: HTTP/2 only (APNs speaks nothing else; over plain http that is prior knowledge, as the test
    # stand-in needs).
    with httpx.Client(http1=False, http2=True, timeout=10.0) as client:
        for token in push_tokens:
            try:
                response = client.post(f"{settings.TSUNAGU_APPLE_APNS_URL}/3/device/{token}", headers=headers,
                                       content=b"{}")  # fmt: skip
                results[token] = response.status_code
            except httpx.HTTPError as exc:
                logger.warning("apns push failed: %s", type(exc).__name__)
                results[token] = 0
    return results
