"""Domain events the loyalty app announces to the apps above it (the dashboard, feedback).

Sent by the services in loyalty/services/ after the transaction commits; receivers connect in their
AppConfig.ready() and call their own services.
"""

from django.dispatch import Signal

# A member's tier changed (upgrade, downgrade at the yearly review, merge). kwargs: change (TierChange)
tier_changed = Signal()

# A reward was redeemed (not sent for an idempotent replay). kwargs: redemption (Redemption)
reward_redeemed = Signal()
