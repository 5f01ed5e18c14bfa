"""Member cards: issuing and reissuing them, the token a card's QR code holds, the signed link that opens the
card on a phone, and the one-time code a member can ask for instead.

The token is opaque and random (never the customer's or the membership's id): it is HMAC(secret key, the card's
random salt), and only its SHA-256 is stored, under a unique index, so the till finds a card by one index lookup
and a copy of the database cannot forge one. A link or a card session names the card; reissuing revokes the card,
and with it every link mailed for it and every phone that opened it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
import uuid

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core import signing
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from customers.models import Customer
from touchpoints.outreach import outbox

from ..models import MemberCard, Membership
from ..wallet.changes import wallet_pass_changed
from .ledger import _lock

logger = logging.getLogger(__name__)

LINK_SALT = "loyalty.card.link"
HANDOVER_SALT = "loyalty.card.handover"
# A link staff show as a QR code at the counter (to add the card to a wallet): the member scans it there and then,
# so it lives minutes, not days, and a photo of the screen is soon worth nothing.
HANDOVER_MINUTES = 15
TOKEN_PREFIX = "TC"  # noqa: S105 (the prefix every card token starts with, not a secret)
CODE_DIGITS = 6
CODE_MAX_ATTEMPTS = 5


class CardLinkError(Exception):
    """A card link or code that cannot open the card; ``message`` says why, for the member."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- Tokens ---------------------------------------------------------------------------------------


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def card_token(card: MemberCard) -> str:
    """The card's QR token: "TC" and 32 base32 characters (letters and digits only, so that a USB scanner typing
    on any keyboard layout types it right, and QR codes use their compact alphanumeric mode)."""
    mac = hmac.new(settings.SECRET_KEY.encode(), f"loyalty-card:{card.salt}".encode(), hashlib.sha256).digest()
    return TOKEN_PREFIX + base64.b32encode(mac[:20]).decode().rstrip("=")


def normalise_token(raw: str) -> str:
    """What a scanner or a person typed, as the token: spaces and dashes dropped, upper case."""
    return "".join(ch for ch in (raw or "").upper() if ch.isalnum())[:64]


def looks_like_token(raw: str) -> bool:
    token = normalise_token(raw)
    return token.startswith(TOKEN_PREFIX) and len(token) == len(TOKEN_PREFIX) + 32


def card_find(raw: str, *, with_membership: bool = True) -> MemberCard | None:
    """The card (active or revoked) whose token this is, with its membership (unless ``with_membership`` is False:
    the till only needs its id); None for an unknown token."""
    token = normalise_token(raw)
    if not looks_like_token(token):
        return None
    found = MemberCard.objects.filter(token_hash=_hash(token))
    if with_membership:
        found = found.select_related("membership__customer", "membership__programme", "membership__tier")
    return found.first()


# --- Issuing --------------------------------------------------------------------------------------


def _new_card(membership: Membership, by: AbstractBaseUser | None) -> MemberCard:
    salt = secrets.token_hex(16)
    card = MemberCard(membership=membership, salt=salt, issued_by=by)
    card.token_hash = _hash(card_token(card))
    card.save()
    return card


def card_for(membership: Membership) -> MemberCard:
    """The membership's active card, issued on first use. Two first uses at once issue one card (the partial
    unique index on active cards; the loser reads the winner's)."""
    card = MemberCard.objects.filter(membership=membership, revoked_at__isnull=True).first()
    if card is not None:
        return card
    try:
        with transaction.atomic():
            return _new_card(membership, None)
    except IntegrityError:
        return MemberCard.objects.get(membership=membership, revoked_at__isnull=True)


@transaction.atomic
def card_reissue(*, membership: Membership, by: AbstractBaseUser | None = None) -> MemberCard:
    """Revoke the active card (a lost phone, a leaked QR code) and issue a new one. The old token, the links
    mailed for it and the phones that opened it stop working at once."""
    locked = _lock(membership.pk)
    now = timezone.now()
    MemberCard.objects.filter(membership=locked, revoked_at__isnull=True).update(revoked_at=now, revoked_by=by)
    card = _new_card(locked, by)
    wallet_pass_changed(locked.pk)  # the wallet pass's QR code is the card's token
    logger.info("loyalty card reissued membership=%s card=%s by=%s", locked.pk, card.pk, getattr(by, "pk", None))
    return card


# --- Links ----------------------------------------------------------------------------------------


def _site_url(path: str) -> str:
    return settings.TSUNAGU_BASE_URL.rstrip("/") + path


def card_link(card: MemberCard) -> str:
    """The absolute address that opens the card on a phone: signed, naming the card (not the customer), valid
    ``TSUNAGU_CARD_LINK_DAYS`` days and until the card is reissued."""
    token = signing.dumps(card.pk, salt=LINK_SALT, compress=True)
    return _site_url(reverse("member:open", args=[token]))


def card_handover_link(card: MemberCard) -> str:
    """The address staff hand over as a QR code at the counter: it opens the card at its wallet buttons, and
    works ``HANDOVER_MINUTES`` minutes (and until the card is reissued)."""
    token = signing.dumps(card.pk, salt=HANDOVER_SALT, compress=True)
    return _site_url(reverse("member:open_handover", args=[token]))


def card_from_link(token: str, *, handover: bool = False) -> MemberCard:
    """The active card a link (or, with ``handover``, a handover link) names; CardLinkError says why not (expired,
    damaged, or the card was replaced)."""
    if handover:
        salt, max_age = HANDOVER_SALT, HANDOVER_MINUTES * 60
    else:
        salt, max_age = LINK_SALT, settings.TSUNAGU_CARD_LINK_DAYS * 86400
    try:
        card_id = signing.loads(token, salt=salt, max_age=max_age)
    except signing.SignatureExpired:
        raise CardLinkError(_("This link has expired. Ask for a new one below.")) from None
    except signing.BadSignature:
        raise CardLinkError(_("This link is not valid. Please copy the whole link from the mail.")) from None
    card = MemberCard.objects.filter(pk=card_id).first() if isinstance(card_id, int) else None
    if card is None or not card.is_active:
        raise CardLinkError(_("This card was replaced by a new one. Ask for a new link below."))
    if not Membership.objects.filter(pk=card.membership_id, status=Membership.Status.ACTIVE).exists():
        raise CardLinkError(_("This membership is not active."))
    return card


def _card_mail(*, membership: Membership, key: str, subject: str, body: str, source_ref: str, channel: str = "email"):
    """A card mail (or LINE message) to the member, through the outbox (transactional: the member asked for it, or
    staff sent it at their request), in the member's language."""
    customer = membership.customer
    with override(customer.preferred_language or settings.LANGUAGE_CODE):
        return outbox.message_enqueue(
            customer=customer,
            key=key,
            purpose="transactional",
            subject=str(subject),
            body=str(body),
            source_app="loyalty",
            source_ref=source_ref,
            channel=channel,
        )


@transaction.atomic
def card_link_send(*, membership: Membership, by: AbstractBaseUser | None = None, channel: str = "email"):
    """Mail the member a link to their card, or send it by LINE (staff: "Send card link"). Returns the outbox
    message, which says whether it could be sent (an address or a followed LINE account, not "do not contact")."""
    card = card_for(membership)
    link = card_link(card)
    customer = membership.customer
    with override(customer.preferred_language or settings.LANGUAGE_CODE):
        subject = _("Your %(programme)s member card") % {"programme": membership.programme.name}
        body = _(
            "Open your member card with this link (valid for %(days)d days):\n\n%(link)s\n\n"
            "Your card shows your points, your tier and a QR code to show at the till. "
            "Add it to your home screen to keep it at hand."
        ) % {"days": settings.TSUNAGU_CARD_LINK_DAYS, "link": link}
    message = _card_mail(
        membership=membership,
        key=f"loyalty:card-link:{card.pk}:{uuid.uuid4().hex}",
        subject=subject,
        body=body,
        source_ref=f"card:{card.pk}",
        channel=channel,
    )
    logger.info("loyalty card link sent membership=%s message=%s channel=%s by=%s", membership.pk, message.pk,
                channel, getattr(by, "pk", None))  # fmt: skip
    return message


# --- One-time codes -------------------------------------------------------------------------------


def _code_key(email: str) -> str:
    return "tsunagu:card-code:" + hashlib.sha256(email.strip().lower().encode()).hexdigest()[:40]


def _membership_for_email(email: str) -> Membership | None:
    customer = Customer.objects.with_email(email).filter(do_not_contact=False).first() if email.strip() else None
    if customer is None:
        return None
    return (
        Membership.objects.active()
        .filter(customer=customer, programme__is_active=True)
        .select_related("customer", "programme")
        .order_by("-joined_at", "-id")
        .first()
    )


@transaction.atomic
def card_code_send(*, email: str) -> bool:
    """Mail a one-time code to ``email`` if it is a member's address (the newest active membership's card).
    The caller says the same thing either way, so the form tells no stranger who is a member. A new code
    replaces the last one. Returns whether a code was sent (for tests and logs)."""
    membership = _membership_for_email(email or "")
    if membership is None:
        return False
    card = card_for(membership)
    code = "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))
    minutes = settings.TSUNAGU_CARD_CODE_MINUTES
    cache.set(_code_key(email), {"card": card.pk, "code": _hash(code), "tries": 0}, timeout=minutes * 60)
    customer = membership.customer
    with override(customer.preferred_language or settings.LANGUAGE_CODE):
        subject = _("Your code: %(code)s") % {"code": code}
        body = _(
            "Enter this code to open your member card: %(code)s\n\nIt is valid for %(minutes)d minutes. "
            "If you did not ask for it, ignore this mail."
        ) % {"code": code, "minutes": minutes}
    _card_mail(
        membership=membership,
        key=f"loyalty:card-code:{card.pk}:{uuid.uuid4().hex}",
        subject=subject,
        body=body,
        source_ref=f"card:{card.pk}",
    )
    logger.info("loyalty card code sent membership=%s", membership.pk)
    return True


def card_code_check(*, email: str, code: str) -> MemberCard:
    """The card a correct code opens (the code then works no more); CardLinkError otherwise. Five wrong tries
    and the code is void."""
    key = _code_key(email or "")
    entry = cache.get(key)
    if not entry:
        raise CardLinkError(_("This code has expired or was never sent. Ask for a new one."))
    typed = "".join(ch for ch in (code or "") if ch.isdigit())
    if not hmac.compare_digest(_hash(typed), entry["code"]):
        entry["tries"] += 1
        if entry["tries"] >= CODE_MAX_ATTEMPTS:
            cache.delete(key)
            raise CardLinkError(_("Too many wrong codes. Ask for a new one."))
        cache.set(key, entry, timeout=settings.TSUNAGU_CARD_CODE_MINUTES * 60)
        raise CardLinkError(_("This code is not right. Check the mail and try again."))
    cache.delete(key)
    card = MemberCard.objects.filter(pk=entry["card"], revoked_at__isnull=True).first()
    if card is None:
        raise CardLinkError(_("This card was replaced by a new one. Ask for a new code."))
    return card
