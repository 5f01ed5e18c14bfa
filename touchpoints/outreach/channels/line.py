"""LINE: sent by the outbox through the Messaging API (outbox/line_send.py) when an access token is configured,
to customers linked to a LINE user who follows the shop's account; a staff task otherwise, as before."""

from __future__ import annotations

from ..line.client import configured
from ..models import MessageChannel
from ..outbox.policy import line_user_of
from .base import Channel, register


def _line_user_id(customer) -> str:
    user = line_user_of(customer)
    return user.user_id if user is not None else ""


LINE = register(
    Channel(
        code=MessageChannel.LINE,
        address_of=_line_user_id,
        needs_address=True,
        by_staff=False,
        provider_ready=configured,
    )
)
