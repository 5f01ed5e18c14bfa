"""Writes to the journey: touchpoints, stages, the catalogue and API keys.

Views, the admin, the API, importers and tasks all come here, so each rule is written once:
- a touchpoint is recorded once per idempotency key (a retry gets the first one back);
- recording moves the customer's ``last_activity_at`` forward and advances their stage when the
  touchpoint's stage is later (never back: only ``journey_stage_move`` moves a customer back);
- every change of stage is a ``StageTransition`` row, closed (``ended_at``) by the next one;
- ``events.touchpoint_recorded`` / ``events.journey_stage_changed`` are sent after commit.

Split by what is written (``record``, ``retract``, ``journeys``, ``touchpoint_types``, ``api_keys``); the names other
modules call are re-exported here.
"""

from touchpoints.services.api_keys import (
    api_key_authenticate,
    api_key_create,
    api_key_hash,
    api_key_mark_used,
    api_key_revoke,
)
from touchpoints.services.journeys import journey_merge, journey_stage_move, moves_journey
from touchpoints.services.record import (
    BATCH_MAX,
    TouchpointBatchInvalid,
    TouchpointData,
    touchpoint_record,
    touchpoint_record_batch,
)
from touchpoints.services.retract import touchpoint_retract
from touchpoints.services.touchpoint_types import touchpoint_type_save

__all__ = [
    "BATCH_MAX",
    "TouchpointBatchInvalid",
    "TouchpointData",
    "api_key_authenticate",
    "api_key_create",
    "api_key_hash",
    "api_key_mark_used",
    "api_key_revoke",
    "journey_merge",
    "journey_stage_move",
    "moves_journey",
    "touchpoint_record",
    "touchpoint_record_batch",
    "touchpoint_retract",
    "touchpoint_type_save",
]
