"""Unsubscribe links and tokens, Message-IDs, and the unsubscribe itself."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import logging

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Customer

from ..models import OutboundMessage, Purpose
from .policy import UNSUBSCRIBE_SOURCE, Skip, Status, _setting

logger = logging.getLogger(__name__)

UNSUBSCRIBE_SALT = "touchpoints.outbox.unsubscribe"


@functools.lru_cache(maxsize=4)
def _signing_key(secret: str, salt: str) -> bytes:
    """The HMAC key ``Signer`` derives for every signature (``salted_hmac``), derived once here."""
    return hashlib.sha256((salt + "signer" + secret).encode()).digest()


def unsubscribe_token(customer_id: int) -> str:
    """A signed token naming the customer. It does not expire: links in old mail must keep working.

    Exactly ``Signer(salt=…).sign(b62(id))`` (``customer_id_from_token`` checks it, with the key fallbacks), computed
    without re-deriving the key each time: a broadcast signs one per customer."""
    value = signing.b62_encode(customer_id)
    mac = hmac.new(_signing_key(settings.SECRET_KEY, UNSUBSCRIBE_SALT), value.encode(), hashlib.sha256).digest()
    return f"{value}:{signing.b64_encode(mac).decode()}"


def customer_id_from_token(token: str) -> int | None:
    try:
        return signing.b62_decode(signing.Signer(salt=UNSUBSCRIBE_SALT).unsign(token))
    except (signing.BadSignature, ValueError):
        return None


_TOKEN_SLOT = "TOKEN"  # noqa: S105 (a placeholder in a URL, not a secret)


@functools.lru_cache(maxsize=8)
def _url_around_token(name: str, base: str) -> tuple[str, str]:
    """The URL of ``name`` split around its token (``reverse`` is slow for a broadcast of 100,000)."""
    url = base + reverse(name, args=[_TOKEN_SLOT])
    before, after = url.split(_TOKEN_SLOT)
    return before, after


def unsubscribe_url(customer_id: int) -> str:
    """The confirmation page (a GET shows it; only its POST unsubscribes). For the message body."""
    before, after = _url_around_token("unsubscribe", settings.TSUNAGU_BASE_URL)
    return before + unsubscribe_token(customer_id) + after


def one_click_unsubscribe_url(customer_id: int) -> str:
    """The RFC 8058 endpoint, for the List-Unsubscribe header: mail clients POST to it."""
    before, after = _url_around_token("unsubscribe_one_click", settings.TSUNAGU_BASE_URL)
    return before + unsubscribe_token(customer_id) + after


def unsubscribe_mailto() -> str:
    """The mailbox named in List-Unsubscribe's ``mailto:`` part, or "" for none (the default).

    Only ``TSUNAGU_UNSUBSCRIBE_MAILTO`` names one: configured as a mailbox of the purpose "unsubscribe", Tsunagu
    reads it and a mail to it withdraws consent (channels/mailbox/ingest.py). RFC 8058's one-click HTTPS link is
    always there and is what mail providers use."""
    return (_setting("TSUNAGU_UNSUBSCRIBE_MAILTO", "") or "").strip()


@functools.lru_cache(maxsize=4)
def _message_id_domain(from_email: str) -> str:
    address = from_email.rsplit("<", 1)[-1].rstrip(">").strip()
    return address.rsplit("@", 1)[-1] if "@" in address else "localhost"


def message_id_for(key: str) -> str:
    """A stable Message-ID for an outbox key: every copy of one message carries the same id (its domain is
    the sender's, from ``DEFAULT_FROM_EMAIL``)."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:40]
    return f"<{digest}@{_message_id_domain(settings.DEFAULT_FROM_EMAIL)}>"


@transaction.atomic
def customer_unsubscribe(*, customer: Customer, method: str, now: dt.datetime | None = None) -> int:
    """Withdraw the customer's marketing consent and stop every queued marketing message to them.

    Records when (``consent_at``) and how (``consent_source`` "unsubscribe", ``consent_evidence`` naming
    ``method``: "one-click", "page", "staff"…). Safe to repeat: a second call changes nothing but
    stops any marketing message queued since. A message already being sent is stopped by the
    send's own check just before hand-over. Returns the number of messages stopped.
    """
    now = now or timezone.now()
    consenting = (
        Customer.objects.select_for_update(no_key=True)
        .filter(pk=customer.pk)
        .values_list("marketing_consent", flat=True)
        .first()
    )
    if consenting is None:
        return 0
    if consenting:
        # A direct update of the consent fields only: an unsubscribe must never fail on unrelated validation.
        Customer.objects.filter(pk=customer.pk).update(
            marketing_consent=False,
            consent_at=now,
            consent_source=UNSUBSCRIBE_SOURCE,
            consent_evidence=(_("Unsubscribed (%(method)s)") % {"method": method})[:300],
            updated_at=now,
        )
        customer.marketing_consent, customer.consent_at = False, now
        customer.consent_source = UNSUBSCRIBE_SOURCE
    stopped = OutboundMessage.objects.filter(
        customer_id=customer.pk, purpose=Purpose.MARKETING, status=Status.QUEUED
    ).update(status=Status.SKIPPED, skip_reason=Skip.OPTED_OUT, enqueued_at=None, updated_at=now)
    logger.info("customer unsubscribed id=%s method=%s stopped=%d", customer.pk, method, stopped)
    return stopped
