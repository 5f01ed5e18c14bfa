"""Google Wallet: the "Save to Google Wallet" link (a JWT signed RS256 with the service account's key, holding
the loyalty object: balance, tier, the card's QR token) and the PATCH of that object when the balance changes,
through the Wallet REST API (``TSUNAGU_GOOGLE_WALLET_API_URL``) with an OAuth access token the service account
obtains from its token endpoint (kept until shortly before it expires)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import jwt
from django.core.cache import cache

from .config import GoogleConfig

SAVE_URL = "https://pay.google.com/gp/v/save/"
SCOPE = "https://www.googleapis.com/auth/wallet_object.issuer"
TOKEN_CACHE_KEY = "tsunagu:google-wallet:access-token"  # noqa: S105 (a cache key, not a secret)


def object_id(config: GoogleConfig, serial_number: str) -> str:
    return f"{config.issuer_id}.{serial_number}"


def save_url(config: GoogleConfig, loyalty_object: dict[str, Any], *, origin: str) -> str:
    claims = {
        "iss": config.client_email,
        "aud": "google",
        "typ": "savetowallet",
        "iat": int(time.time()),
        "origins": [origin],
        "payload": {"loyaltyObjects": [loyalty_object]},
    }
    return SAVE_URL + jwt.encode(claims, config.private_key, algorithm="RS256")


def _access_token(config: GoogleConfig, client: httpx.Client) -> str:
    token = cache.get(TOKEN_CACHE_KEY)
    if token:
        return token
    now = int(time.time())
    assertion = jwt.encode(
        {"iss": config.client_email, "scope": SCOPE, "aud": config.token_uri, "iat": now, "exp": now + 3600},
        config.private_key,
        algorithm="RS256",
    )
    response = client.post(
        config.token_uri,
        data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion},
    )
    response.raise_for_status()
    body = response.json()
    token = body["access_token"]
    cache.set(TOKEN_CACHE_KEY, token, timeout=max(60, int(body.get("expires_in", 3600)) - 300))
    return token


def object_patch(config: GoogleConfig, api_url: str, serial_number: str, fields: dict[str, Any]) -> int:
    """PATCH the loyalty object; returns the HTTP status (404: the member has not saved it to a wallet)."""
    with httpx.Client(timeout=10.0) as client:
        token = _access_token(config, client)
        response = client.patch(
            f"{api_url}/loyaltyObject/{object_id(config, serial_number)}",
            json=fields,
            headers={"authorization": f"Bearer {token}"},
        )
        if response.status_code == 401:  # the cached token was revoked or expired early: once more, fresh
            cache.delete(TOKEN_CACHE_KEY)
            token = _access_token(config, client)
            response = client.patch(
                f"{api_url}/loyaltyObject/{object_id(config, serial_number)}",
                json=fields,
                headers={"authorization": f"Bearer {token}"},
            )
        return response.status_code
