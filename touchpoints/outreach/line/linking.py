"""The Messaging API's account link: LINE gives a link token for a user; on Tsunagu's page the customer proves who
they are (a one-time code mailed to the address on file); Tsunagu answers with a nonce and sends the browser to
LINE's link dialog; LINE's ``accountLink`` event brings the nonce back (events.py) and the customer is linked.

The page never says whether an address is on file (the same answer either way). Codes are stored hashed, live
15 minutes, and allow five tries; the page is throttled per client address.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from urllib.parse import urlencode

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import override

from customers import throttling
from customers.models import Customer

from ..outbox import message_enqueue
from .models import LineLinkRequest

logger = logging.getLogger(__name__)

CODE_TTL = dt.timedelta(minutes=15)
CODE_TRIES = 5
REQUEST_TTL = dt.timedelta(minutes=30)
PER_ADDRESS_PER_HOUR = 10


def throttled(client: str) -> bool:
    """True when this client address asked for too many codes or tried too many this hour (one counter); the
    public pages' fixed window (customers/throttling.py)."""
    rate = f"{PER_ADDRESS_PER_HOUR}/hour"
    if throttling.retry_after(scope="line-link", ident=client, rate=rate):
        return True
    throttling.hit(scope="line-link", ident=client, rate=rate)
    return False


def _hash(code: str, request: LineLinkRequest) -> str:
    return salted_hmac("tsunagu.line.link", f"{request.pk}:{code}").hexdigest()


def link_request_for(link_token: str, *, now: dt.datetime | None = None) -> LineLinkRequest | None:
    now = now or timezone.now()
    token = (link_token or "").strip()[:100]
    if not token or not token.isascii():
        return None
    request, _created = LineLinkRequest.objects.get_or_create(link_token=token, defaults={"created_at": now})
    if request.used_at is not None or request.created_at < now - REQUEST_TTL:
        return None
    return request


@transaction.atomic
def link_code_send(*, request: LineLinkRequest, email: str, now: dt.datetime | None = None) -> None:
    """Mail a one-time code to ``email`` if it is a customer's address (nothing is said either way)."""
    now = now or timezone.now()
    email = (email or "").strip()
    customer = (
        Customer.objects.filter(email__iexact=email, do_not_contact=False).order_by("pk").first() if email else None
    )
    if customer is None:
        logger.info("LINE: link code asked for an unknown address (request=%s)", request.pk)
        return
    code = f"{secrets.randbelow(1_000_000):06d}"
    locked = LineLinkRequest.objects.select_for_update().get(pk=request.pk)
    locked.customer, locked.code_hash, locked.code_sent_at, locked.attempts = customer, "", now, 0
    locked.save()
    locked.code_hash = _hash(code, locked)
    locked.save(update_fields=["code_hash"])
    with override(customer.preferred_language or settings.LANGUAGE_CODE):
        subject = _("Your code to link LINE")
        body = _(
            "Your code is %(code)s. Enter it on the page you opened from LINE within 15 minutes.\n"
            "If you did not ask for it, ignore this message."
        ) % {"code": code}
    message_enqueue(
        customer=customer,
        key=f"line-link:{locked.pk}:{int(now.timestamp())}",
        purpose="transactional",
        channel="email",
        subject=subject,
        body=body,
        source_app="touchpoints",
        source_ref="line-link",
    )


@transaction.atomic
def link_code_check(*, request: LineLinkRequest, code: str, now: dt.datetime | None = None) -> str | None:
    """The URL of LINE's link dialog (with a fresh nonce) when ``code`` is right; None otherwise."""
    now = now or timezone.now()
    locked = LineLinkRequest.objects.select_for_update().get(pk=request.pk)
    if (
        locked.customer_id is None
        or not locked.code_hash
        or locked.used_at is not None
        or locked.attempts >= CODE_TRIES
        or locked.code_sent_at is None
        or locked.code_sent_at < now - CODE_TTL
    ):
        return None
    locked.attempts += 1
    if not constant_time_compare(_hash((code or "").strip(), locked), locked.code_hash):
        locked.save(update_fields=["attempts"])
        return None
    locked.nonce = secrets.token_urlsafe(32)
    locked.verified_at = now
    locked.code_hash = ""  # a code works once
    locked.save()
    logger.info("LINE: link request %s verified", locked.pk)
    query = urlencode({"linkToken": locked.link_token, "nonce": locked.nonce})
    return f"{settings.LINE_ACCESS_HOST}/dialog/bot/accountLink?{query}"
