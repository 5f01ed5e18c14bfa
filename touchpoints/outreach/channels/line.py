"""LINE: no provider yet, so a message becomes a staff task for the customer's owner, who sends it by hand."""

from __future__ import annotations

from ..models import MessageChannel
from .base import Channel, register

LINE = register(Channel(code=MessageChannel.LINE, address_of=lambda customer: "", needs_address=False, by_staff=True))
