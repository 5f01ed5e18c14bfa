"""What each staff role may do with loyalty, granted by migration 0004 (see customers/roles.py).

Marketing sets up programmes, tiers and rewards and reads the figures; support enrols customers, redeems
and cancels rewards; managers do everything, and only they adjust points by hand.
"""

from __future__ import annotations

from customers.roles import MANAGER, MARKETING, SUPPORT

_SETUP = [
    f"loyalty.{action}_{model}" for model in ("programme", "tier", "reward") for action in ("view", "add", "change")
]
_SERVE = [
    "loyalty.view_programme",
    "loyalty.view_tier",
    "loyalty.view_reward",
    "loyalty.view_membership",
    "loyalty.add_membership",
    "loyalty.view_ledgerentry",
    "loyalty.view_redemption",
    "loyalty.add_redemption",
    "loyalty.view_greeting",
    "loyalty.view_tierchange",
]

LOYALTY_PERMISSIONS: dict[str, list[str]] = {
    MANAGER: sorted(
        {
            *_SETUP,
            *_SERVE,
            "loyalty.change_membership",
            "loyalty.adjust_points",
            "loyalty.cancel_redemption",
            "loyalty.view_loyalty_figures",
        }
    ),
    MARKETING: sorted({*_SETUP, *_SERVE, "loyalty.view_loyalty_figures"}),
    SUPPORT: sorted({*_SERVE, "loyalty.cancel_redemption"}),
}

# The counter: till mode, and the member cards (mail a card link, reissue a lost card). Granted by migration 0010.
CARD_PERMISSIONS: dict[str, list[str]] = {
    MANAGER: ["loyalty.use_till", "loyalty.manage_card"],
    SUPPORT: ["loyalty.use_till", "loyalty.manage_card"],
}
