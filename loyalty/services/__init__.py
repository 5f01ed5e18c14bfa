"""Writes to loyalty: memberships, the points ledger, tiers, rewards, redemptions, greetings.

Views, the admin, the API, receivers and Celery tasks all come here, so each rule is written once. Services
that write history take the time of the event (``at``/``now``, default now): the ledger is append-only, so
the demo seeder replays past events at their time. The names callers use are re-exported here.
"""

from .audit import ledger_audit
from .dates import add_months, local_today
from .earning import points_earn_for_purchase, points_reverse_for_return
from .expiry import expiry_reminders_schedule, points_expire
from .figures import loyalty_figures
from .greetings import birthday_memberships, greetings_dispatch, milestones_schedule
from .ledger import POINTS_MAX, InsufficientPoints, points_adjust
from .membership import membership_join, membership_set_status
from .merge import ledger_erasure_allow, memberships_merge
from .placeholders import (
    placeholder_points_balance,
    placeholder_tier,
    placeholders_points_balance,
    placeholders_tier,
)
from .redemption import OutOfStock, new_idempotency_key, points_redeem, redemption_cancel
from .setup import programme_save, reward_save, tier_save
from .tiers import qualifying_value, tiers_review
from .till import till_purchase_record, voucher_use

__all__ = [
    "POINTS_MAX",
    "InsufficientPoints",
    "OutOfStock",
    "add_months",
    "birthday_memberships",
    "expiry_reminders_schedule",
    "greetings_dispatch",
    "ledger_audit",
    "ledger_erasure_allow",
    "local_today",
    "loyalty_figures",
    "membership_join",
    "membership_set_status",
    "memberships_merge",
    "milestones_schedule",
    "new_idempotency_key",
    "placeholder_points_balance",
    "placeholder_tier",
    "placeholders_points_balance",
    "placeholders_tier",
    "points_adjust",
    "points_earn_for_purchase",
    "points_expire",
    "points_redeem",
    "points_reverse_for_return",
    "programme_save",
    "qualifying_value",
    "redemption_cancel",
    "reward_save",
    "tier_save",
    "tiers_review",
    "till_purchase_record",
    "voucher_use",
]
