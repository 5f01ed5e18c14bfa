"""The wallet settings read once per process: the Apple pass certificate chain and APNs key, the Google service
account. Each ``*_config()`` is None when its wallet is not configured, and the card then shows no button."""

from __future__ import annotations

import functools
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.conf import settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AppleConfig:
    pass_type_id: str
    team_id: str
    certificate: x509.Certificate
    key: Any  # the pass certificate's private key
    wwdr: x509.Certificate
    apns_key: Any | None  # the .p8 token key (None: passes are served but devices are not pushed to)
    apns_key_id: str


@dataclass(frozen=True)
class GoogleConfig:
    issuer_id: str
    class_id: str
    client_email: str
    private_key: str  # PEM, as in the service account's JSON key
    token_uri: str


def _read(path: str) -> bytes:
    return Path(path).read_bytes()


@functools.cache
def apple_config() -> AppleConfig | None:
    s = settings
    needed = (s.TSUNAGU_APPLE_PASS_TYPE_ID, s.TSUNAGU_APPLE_TEAM_ID, s.TSUNAGU_APPLE_PASS_CERT_FILE,
              s.TSUNAGU_APPLE_PASS_KEY_FILE, s.TSUNAGU_APPLE_WWDR_CERT_FILE)  # fmt: skip
    if not all(needed):
        return None
    password = s.TSUNAGU_APPLE_PASS_KEY_PASSWORD.encode() or None
    apns_key = None
    if s.TSUNAGU_APPLE_APNS_KEY_FILE and s.TSUNAGU_APPLE_APNS_KEY_ID:
        apns_key = serialization.load_pem_private_key(_read(s.TSUNAGU_APPLE_APNS_KEY_FILE), password=None)
    return AppleConfig(
        pass_type_id=s.TSUNAGU_APPLE_PASS_TYPE_ID,
        team_id=s.TSUNAGU_APPLE_TEAM_ID,
        certificate=x509.load_pem_x509_certificate(_read(s.TSUNAGU_APPLE_PASS_CERT_FILE)),
        key=serialization.load_pem_private_key(_read(s.TSUNAGU_APPLE_PASS_KEY_FILE), password=password),
        wwdr=x509.load_pem_x509_certificate(_read(s.TSUNAGU_APPLE_WWDR_CERT_FILE)),
        apns_key=apns_key,
        apns_key_id=s.TSUNAGU_APPLE_APNS_KEY_ID,
    )


@functools.cache
def google_config() -> GoogleConfig | None:
    s = settings
    if not (s.TSUNAGU_GOOGLE_WALLET_ISSUER_ID and s.TSUNAGU_GOOGLE_WALLET_KEY_FILE):
        return None
    key = json.loads(_read(s.TSUNAGU_GOOGLE_WALLET_KEY_FILE))
    return GoogleConfig(
        issuer_id=s.TSUNAGU_GOOGLE_WALLET_ISSUER_ID,
        class_id=f"{s.TSUNAGU_GOOGLE_WALLET_ISSUER_ID}.{s.TSUNAGU_GOOGLE_WALLET_CLASS_SUFFIX}",
        client_email=key["client_email"],
        private_key=key["private_key"],
        token_uri=key.get("token_uri") or "https://oauth2.googleapis.com/token",
    )


def config_forget() -> None:
    """Read the settings again (tests that change them)."""
    apple_config.cache_clear()
    google_config.cache_clear()


def wallet_buttons() -> dict[str, bool]:
    """Which wallet buttons the card shows."""
    return {"apple": apple_config() is not None, "google": google_config() is not None}
