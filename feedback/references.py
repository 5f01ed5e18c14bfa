"""Ticket references as customers and staff read them: ``T-000123``."""

from __future__ import annotations

REFERENCE_PREFIX = "T-"


def format_reference(pk: int | None) -> str:
    return f"{REFERENCE_PREFIX}{pk:06d}" if pk else ""


def parse_reference(text: str) -> int | None:
    """``T-000123``, ``t123`` or ``123`` → 123; anything else → None."""
    value = (text or "").strip().upper()
    if value.startswith(REFERENCE_PREFIX):
        value = value[len(REFERENCE_PREFIX) :]
    elif value.startswith("T"):
        value = value[1:]
    if not value.isdigit() or len(value) > 15:
        return None
    number = int(value)
    return number if 0 < number < 2**63 else None
