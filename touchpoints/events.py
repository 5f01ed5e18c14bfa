"""Domain events the touchpoints app announces to the apps above it (loyalty, outreach, feedback).

Sent by the services in touchpoints/services/ after the transaction commits (never from post_save),
once per new row: a replayed idempotency key announces nothing. Receivers connect in their
AppConfig.ready() and call their own services; a receiver that fails is logged and does not stop the others.
"""

from django.dispatch import Signal

# A touchpoint was recorded. kwargs: touchpoint (Touchpoint, with ``type`` loaded)
touchpoint_recorded = Signal()

# A customer's journey stage changed (automatically or by hand). kwargs: transition (StageTransition)
journey_stage_changed = Signal()

# A touchpoint recorded by mistake was taken back (``touchpoint_retract``). kwargs: touchpoint_id, customer_id
touchpoint_retracted = Signal()
