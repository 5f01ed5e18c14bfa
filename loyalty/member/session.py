"""The card session: a phone that opened a card link (or entered a code) holds the card's id in its session.
Every request re-reads the card, so a reissued card signs every phone out at once."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from ..models import MemberCard, Membership
from ..querysets import next_tier_annotations

SESSION_KEY = "member_card"


def card_session_open(request: HttpRequest, card: MemberCard) -> None:
    if not request.user.is_authenticated:
        request.session.cycle_key()  # a new session id: nobody planted this one
        request.session.set_expiry(settings.TSUNAGU_CARD_SESSION_DAYS * 86400)
    request.session[SESSION_KEY] = card.pk


def card_session_close(request: HttpRequest) -> None:
    request.session.pop(SESSION_KEY, None)


def card_from_session(request: HttpRequest, *, with_membership: bool = False) -> MemberCard | None:
    """The session's card if it still opens (not reissued, membership active). ``with_membership``: its
    ``membership`` read as ``membership_for_card`` reads it (customer, programme, tier, next tier), in the same
    query, for the card's pages."""
    card_id = request.session.get(SESSION_KEY)
    if not isinstance(card_id, int):
        return None
    cards = MemberCard.objects.filter(pk=card_id, revoked_at__isnull=True, membership__status=Membership.Status.ACTIVE)
    if with_membership:
        cards = cards.select_related("membership__customer", "membership__programme", "membership__tier").annotate(
            **next_tier_annotations("membership__")
        )
    card = cards.first()
    if card is None:
        card_session_close(request)
    elif with_membership:
        card.membership.next_tier_name = card.next_tier_name
        card.membership.next_tier_threshold = card.next_tier_threshold
    return card
