"""The demo loyalty programme (``manage.py seed_loyalty``): its settings, tiers and rewards, and the shares
that shape the members' history. Demo data only.

Names are English message ids (gettext_noop), written in the seeding language (Japanese by default: the
demo is a Japanese shop), so a demo in English reads ``Bronze``, ``Silver``, ``Gold``.
"""

from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext_noop

PROGRAMME = {
    "name": gettext_noop("Tsunagu Members' Club"),
    "description": gettext_noop("One point per 100 yen spent; points are valid for 12 months."),
    "currency": "JPY",
    "earn_rate": Decimal("0.01"),
    "points_lifetime_months": 12,
    "expiry_reminder_days": 30,
    "tier_basis": "points",
    "tier_grace_days": 30,
    "birthday_bonus": 100,
    "anniversary_bonus": 50,
    "referrer_bonus": 200,
    "referee_bonus": 100,
    "purchase_milestones": "",  # milestone greetings carry a bonus paid when sent: none in the history
    "purchase_milestone_bonus": 0,
}

# name, position, threshold (points earned on purchases in the last 12 months), earn multiplier, benefits
TIERS = [
    ("Bronze", 1, Decimal("0"), Decimal("1.00"), gettext_noop("One point per 100 yen.")),
    ("Silver", 2, Decimal("150"), Decimal("1.20"), gettext_noop("20% more points; free gift wrapping.")),
    ("Gold", 3, Decimal("400"), Decimal("1.50"), gettext_noop("50% more points; free shipping; VIP events.")),
]
TIER_NAMES = [gettext_noop("Bronze"), gettext_noop("Silver"), gettext_noop("Gold")]

# name, kind, points cost, stock (None: unlimited), minimum tier position (None: any), description
REWARDS = [
    (gettext_noop("100 yen discount coupon"), "coupon", 100, None, None, gettext_noop("Valid on any purchase.")),
    (gettext_noop("Free shipping"), "shipping", 150, None, None, gettext_noop("On one online order.")),
    (gettext_noop("500 yen discount coupon"), "coupon", 450, None, None, gettext_noop("Valid on any purchase.")),
    (gettext_noop("Original tote bag"), "gift", 300, 40, 2, gettext_noop("While stocks last.")),
    (gettext_noop("Seasonal tea set"), "gift", 600, 15, 3, gettext_noop("A gift for our Gold members.")),
]

# Of the customers who bought something, the share who join the programme.
MEMBER_SHARE = 0.6
# Of the members, the share who joined at the counter with their first purchase (the others joined before,
# on the site, a few days to a few weeks ahead).
JOIN_AT_FIRST_PURCHASE = 0.7
# Of the members, the share who joined with a friend's referral code.
REFERRED_SHARE = 0.12
# After a purchase, the chance that a member with enough points redeems a reward.
REDEEM_CHANCE = 0.45
# Of the redemptions, the share cancelled a day later (the points go back).
CANCEL_SHARE = 0.06
# Of the redemptions, the share made on the shop's site (the API) rather than at the counter.
API_SHARE = 0.3
CANCEL_REASONS = [gettext_noop("Ordered by mistake"), gettext_noop("The customer changed their mind")]
