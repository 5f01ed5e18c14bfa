"""What a channel provides to the outbox, and the registry of channels by code (``MessageChannel``).

A channel says where a customer is reached on it and who sends: the outbox itself (email, through
``channels.email.Delivery``) or a member of staff, from the staff task the outbox opens instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Channel:
    code: str
    # The customer's address on this channel ("" when they have none).
    address_of: Callable[[Any], str]
    # A message to a customer without an address is skipped (``no_address``).
    needs_address: bool
    # Sent by hand from a staff task until a provider is configured; the outbox row is skipped (``staff_task``).
    by_staff: bool
    # A channel the outbox sends when its provider is configured (LINE: an access token), by staff otherwise.
    provider_ready: Callable[[], bool] | None = None

    def handed_to_staff(self) -> bool:
        return self.by_staff or (self.provider_ready is not None and not self.provider_ready())


_registry: dict[str, Channel] = {}


def register(channel: Channel) -> Channel:
    _registry[channel.code] = channel
    return channel


def get(code: str) -> Channel:
    return _registry[code]


def by_staff_codes() -> list[str]:
    return [code for code, channel in _registry.items() if channel.handed_to_staff()]
