"""The Messaging API's account link: LINE gives a link token for a user; on Tsunagu's page the customer proves who
they are (a one-time code mailed to the address on file); Tsunagu answers with a nonce and sends the browser to
LINE's link dialog; LINE's ``accountLink`` event brings the nonce back (events.py) and the customer is linked.

The page never says whether an address is on file (the same answer either way). Codes are stored hashed, live
15 minutes, and allow five tries; the page is throttled per client address.

Other proofs (loyalty's member number and birth date) are registered by the apps above (``register_proof``, in
their ``AppConfig.ready()``), since outreach cannot import them; the page offers each as an alternative to the
mailed code. A proof answers one customer or None, doing the same work either way (no enumeration by timing).
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django import forms
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


PROOF_TRIES = 5


@dataclass(frozen=True)
class LinkProof:
    """Another way to prove who one is on the link page: a form, and what its cleaned data proves."""

    key: str
    label: Any  # a lazy string: the page's heading of the form
    form: type[forms.Form]
    # The cleaned data -> the customer it proves, or None; the same work whether a part is wrong or unknown.
    customer: Callable[[dict], Customer | None]
    # The cleaned data -> what is being guessed at (a member number): throttled apart from the client address,
    # so many addresses cannot try every birth date of one member.
    subject: Callable[[dict], str] = lambda data: ""


_proofs: dict[str, LinkProof] = {}


def register_proof(proof: LinkProof) -> None:
    _proofs[proof.key] = proof


def proofs() -> list[LinkProof]:
    return list(_proofs.values())


def proof_for(key: str) -> LinkProof | None:
    return _proofs.get(key)


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
    return _verified(locked, customer=locked.customer, now=now)


def _verified(locked: LineLinkRequest, *, customer: Customer, now: dt.datetime) -> str:
    """The request is proven for ``customer``: a fresh nonce, and the URL of LINE's link dialog."""
    locked.customer = customer
    locked.nonce = secrets.token_urlsafe(32)
    locked.verified_at = now
    locked.code_hash = ""  # a code works once
    locked.save()
    logger.info("LINE: link request %s verified", locked.pk)
    query = urlencode({"linkToken": locked.link_token, "nonce": locked.nonce})
    return f"{settings.LINE_ACCESS_HOST}/dialog/bot/accountLink?{query}"


def proof_throttled(*, request: LineLinkRequest, proof: LinkProof, data: dict) -> bool:
    """True when this link request, or what is guessed at, had its tries (``PROOF_TRIES`` an hour each; the
    client address has its own limit, ``throttled``). Counted in the cache: wrong answers leave no row."""
    rate = f"{PROOF_TRIES}/hour"
    idents = [(f"line-proof:{proof.key}:request", str(request.pk))]
    subject = proof.subject(data)
    if subject:
        idents.append((f"line-proof:{proof.key}:subject", subject))
    if any(throttling.retry_after(scope=scope, ident=ident, rate=rate) for scope, ident in idents):
        return True
    for scope, ident in idents:
        throttling.hit(scope=scope, ident=ident, rate=rate)
    return False


@transaction.atomic
def link_proof_check(
    *, request: LineLinkRequest, proof: LinkProof, data: dict, now: dt.datetime | None = None
) -> str | None:
    """The URL of LINE's link dialog when ``data`` (a proof form's cleaned data) proves a customer; None
    otherwise, with no word on which part was wrong."""
    now = now or timezone.now()
    locked = LineLinkRequest.objects.select_for_update().get(pk=request.pk)
    if locked.used_at is not None:
        return None
    customer = proof.customer(data)
    if customer is None or customer.do_not_contact:
        logger.info("LINE: link request %s: a %s proof did not match", locked.pk, proof.key)
        return None
    return _verified(locked, customer=customer, now=now)
