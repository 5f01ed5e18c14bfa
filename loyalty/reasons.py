"""The reasons the system writes on ledger entries, as keys rendered in the reader's language.

A purchase booked while a Japanese colleague was signed in read 「購入 A-1001」 in the English interface too;
now the entry keeps ``reason_key`` and ``reason_params`` and every page renders them in its reader's language
(``LedgerEntry.display_reason``). ``reason`` still holds the text in the site's default language, for the API
and exports. Reasons staff type (an adjustment) have no key and show as typed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _

from customers import system_text

PURCHASE = "loyalty.purchase"
RETURN = "loyalty.return"
REDEEMED = "loyalty.redeemed"
CANCELLED = "loyalty.cancelled"
REFEREE_BONUS = "loyalty.referee_bonus"
REFERRER_BONUS = "loyalty.referrer_bonus"
EXPIRED = "loyalty.expired"
BIRTHDAY_BONUS = "loyalty.birthday_bonus"
ANNIVERSARY_BONUS = "loyalty.anniversary_bonus"
PURCHASE_BONUS = "loyalty.purchase_bonus"


def _purchase(p: Mapping[str, Any]) -> str:
    return _("Purchase %(ref)s") % {"ref": p["ref"]} if p.get("ref") else _("Purchase")


def _return(p: Mapping[str, Any]) -> str:
    text = _("Return of order %(ref)s") % {"ref": p["ref"]}
    if p.get("unrecovered"):
        text += " " + _("(%(n)d points already spent could not be taken back)") % {"n": p["unrecovered"]}
    return text


def _cancelled(p: Mapping[str, Any]) -> str:
    text = _("Cancelled: %(reward)s") % {"reward": p["reward"]}
    return text + (f" — {p['note']}" if p.get("note") else "")


RENDERERS = {
    PURCHASE: _purchase,
    RETURN: _return,
    REDEEMED: lambda p: _("Redeemed: %(reward)s") % {"reward": p["reward"]},
    CANCELLED: _cancelled,
    REFEREE_BONUS: lambda p: _("Welcome bonus: joined on a friend's referral"),
    REFERRER_BONUS: lambda p: (
        _("Referral bonus: member %(number)s made their first purchase") % {"number": p["number"]}
    ),
    EXPIRED: lambda p: _("Points valid until %(day)s expired") % {"day": p["day"]},
    BIRTHDAY_BONUS: lambda p: _("Birthday bonus %(occasion)s") % {"occasion": p["occasion"]},
    ANNIVERSARY_BONUS: lambda p: _("Membership anniversary bonus"),
    PURCHASE_BONUS: lambda p: _("Bonus for purchase number %(detail)s") % {"detail": p["detail"]},
}


def register() -> None:
    for key, renderer in RENDERERS.items():
        system_text.register(key, renderer)


def reason(key: str, **params: Any) -> dict[str, Any]:
    """The ledger entry's fields for a system reason: ``LedgerEntry(..., **reason(PURCHASE, ref="A-1"))``."""
    return {"reason": system_text.stored(key, params)[:300], "reason_key": key, "reason_params": params}
