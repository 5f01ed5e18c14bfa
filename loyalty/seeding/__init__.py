"""The demo members' history replayed in memory and written in bulk (``manage.py seed_loyalty``; demo data only).

The service replay (``seed_loyalty --through-services``) makes one service call per join, purchase, return,
redemption and night: about an hour and a half at 100,000 customers. This module replays the same events, in the
same order, with the same draws, under the same rules as the services (``loyalty/services``: earning and
reversing, referral bonuses, lots spent expiry-first, nightly expiry and tier reviews, upgrades as soon as a
threshold is crossed), on plain Python objects; then writes the rows with COPY (``bulk_create`` on SQLite) and the
redemptions' touchpoints through ``touchpoint_record_batch`` a thousand at a time. A test holds the two paths to
the same history, and ``ledger_audit`` is run after either.

Ids are local while replaying (from 1) and moved to ids reserved in the tables when written, with what is
derived from them (keys, allocations, the expiry key's digest, greeting occasions).
"""

from .plan import Event, Totals, demo_staff, history_plan, night_times, rng
from .replay import Replay, replay
from .writing import history_write

__all__ = ["Event", "Replay", "Totals", "demo_staff", "history_plan", "history_write", "night_times", "replay", "rng"]
