"""SMS and phone calls: staff send them by hand from a staff task, to the customer's phone number."""

from __future__ import annotations

from ..models import MessageChannel
from .base import Channel, register


def _phone(customer) -> str:
    return customer.phone


SMS = register(Channel(code=MessageChannel.SMS, address_of=_phone, needs_address=True, by_staff=True))
PHONE = register(Channel(code=MessageChannel.PHONE, address_of=_phone, needs_address=True, by_staff=True))
