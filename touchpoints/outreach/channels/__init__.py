"""The outreach channels, one module each behind ``base.Channel``; importing this package registers them."""

from . import email, line, phone
from .base import Channel, by_staff_codes, get, register

__all__ = ["Channel", "by_staff_codes", "email", "get", "line", "phone", "register"]
