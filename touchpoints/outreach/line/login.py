"""LINE Login (OpenID Connect), where a LINE Login channel is configured: a customer who has already proved who
they are (on the member card) links their LINE account without the Messaging API's account-link dialog.

The authorize redirect carries a random ``state`` and ``nonce``; both, with the customer and the page to return
to, are kept signed in the browser's session and expire after ``STATE_MAX_AGE``, so a callback from another
browser, a replayed one or a late one links nobody. The code is exchanged for tokens server to server, and the
ID token is checked here (LINE's web login ID tokens are HS256 with the channel secret: signature, ``iss``,
``aud``, ``exp`` and our ``nonce``); its ``sub`` is the LINE user ID of the provider, as the webhook's are.
"""

from __future__ import annotations

import json
import logging
import secrets
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlencode

import jwt
from django.conf import settings
from django.core import signing
from django.http import HttpRequest
from django.urls import reverse
from django.utils.crypto import constant_time_compare

from customers.models import Customer

from . import client as line
from .events import line_user_link
from .models import LineUser

logger = logging.getLogger(__name__)

ISSUER = "https://access.line.me"
STATE_MAX_AGE = 600
SESSION_KEY = "line_login"
SALT = "tsunagu.line.login"
TOKEN_TIMEOUT = 10


class LoginError(Exception):
    """The login did not prove a LINE account (cancelled, expired, forged, LINE unreachable); ``next_url`` is the
    page to go back to when the login was found."""

    def __init__(self, reason: str, next_url: str = ""):
        super().__init__(reason)
        self.next_url = next_url


@dataclass(frozen=True)
class LoginResult:
    customer_id: int
    next_url: str
    line_user: LineUser | None = None


def login_configured() -> bool:
    return bool(settings.LINE_LOGIN_CHANNEL_ID and settings.LINE_LOGIN_CHANNEL_SECRET)


def _redirect_uri() -> str:
    return settings.TSUNAGU_BASE_URL + reverse("line:login_callback")


def login_start(request: HttpRequest, *, customer: Customer, next_url: str) -> str:
    """The URL of LINE's authorize page for ``customer`` (who proved who they are on this browser)."""
    state, nonce = secrets.token_hex(16), secrets.token_hex(16)
    request.session[SESSION_KEY] = signing.dumps(
        {"state": state, "nonce": nonce, "customer": customer.pk, "next": next_url}, salt=SALT
    )
    query = urlencode(
        {
            "response_type": "code",
            "client_id": settings.LINE_LOGIN_CHANNEL_ID,
            "redirect_uri": _redirect_uri(),
            "state": state,
            "scope": "openid profile",
            "nonce": nonce,
        }
    )
    return f"{settings.LINE_ACCESS_HOST}/oauth2/v2.1/authorize?{query}"


def _pending(request: HttpRequest, state: str) -> dict:
    """The login this browser started, once: its signed record, unexpired, with this state."""
    stored = request.session.pop(SESSION_KEY, None)
    if not stored or not state:
        raise LoginError("no login in progress")
    try:
        pending = signing.loads(stored, salt=SALT, max_age=STATE_MAX_AGE)
    except signing.BadSignature as exc:  # SignatureExpired is one
        raise LoginError("expired") from exc
    if not constant_time_compare(str(pending.get("state", "")), state):
        raise LoginError("state mismatch")
    return pending


def _exchange(code: str) -> str:
    """The ID token for an authorization code (LINE's token endpoint)."""
    data = urlencode(
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": _redirect_uri(),
            "client_id": settings.LINE_LOGIN_CHANNEL_ID,
            "client_secret": settings.LINE_LOGIN_CHANNEL_SECRET,
        }
    ).encode()
    exchange = urllib.request.Request(  # noqa: S310 (an https setting, or the tests' stand-in)
        f"{settings.LINE_API_HOST}/oauth2/v2.1/token",
        data=data,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    try:
        with urllib.request.urlopen(exchange, timeout=TOKEN_TIMEOUT) as answer:  # noqa: S310
            payload = json.loads(answer.read(100_000))
    except urllib.error.HTTPError as exc:
        raise LoginError(f"token endpoint answered {exc.code}") from exc
    except (OSError, ValueError) as exc:
        raise LoginError(f"token endpoint unreachable: {type(exc).__name__}") from exc
    id_token = payload.get("id_token") if isinstance(payload, dict) else None
    if not isinstance(id_token, str) or not id_token:
        raise LoginError("no ID token")
    return id_token


def id_token_verify(id_token: str, *, nonce: str) -> str:
    """The ``sub`` of a LINE ID token this channel was issued with our nonce; LoginError otherwise."""
    try:
        claims = jwt.decode(
            id_token,
            settings.LINE_LOGIN_CHANNEL_SECRET,
            algorithms=["HS256"],  # never "none", never a key the token names
            audience=settings.LINE_LOGIN_CHANNEL_ID,
            issuer=ISSUER,
            options={"require": ["iss", "sub", "aud", "exp", "iat"]},
            leeway=30,
        )
    except jwt.PyJWTError as exc:
        raise LoginError(f"ID token refused: {type(exc).__name__}") from exc
    if not constant_time_compare(str(claims.get("nonce", "")), nonce):
        raise LoginError("nonce mismatch")
    sub = str(claims["sub"])
    if not sub.startswith("U") or len(sub) > 64:
        raise LoginError("not a user ID")
    return sub


def login_finish(request: HttpRequest, *, state: str, code: str, error: str = "") -> LoginResult:
    """The callback: check the state, exchange the code, verify the ID token, link its LINE user to the customer.
    Raises LoginError."""
    pending = _pending(request, state)
    next_url = str(pending.get("next") or "/")
    try:
        if error or not code:
            raise LoginError(f"LINE answered {error or 'no code'}"[:100])
        sub = id_token_verify(_exchange(code[:512]), nonce=str(pending["nonce"]))
        customer = Customer.objects.filter(pk=pending["customer"]).first()
        if customer is None:
            raise LoginError("the customer is gone")
    except LoginError as exc:
        raise LoginError(str(exc), next_url) from exc
    user, _created = LineUser.objects.get_or_create(provider=line.provider(), user_id=sub)
    user = line_user_link(line_user=user, customer=customer)
    logger.info("LINE: user=%s linked to customer=%s by LINE Login", user.pk, customer.pk)
    return LoginResult(customer_id=customer.pk, next_url=next_url, line_user=user)
