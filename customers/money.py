"""Amounts of money written one way on every page (the ``money`` template filter, a builtin).

Yen in Japanese is 「1,500円」 and in English "¥1,500": what a Japanese receipt and an English one print. Other
currencies are the amount and the ISO code ("12.50 USD"), in every language. Pages used to mix 「1,500 JPY」,
「¥1,500」 and 「1,500円」; exports keep plain numbers.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

YEN = "JPY"
# Currencies by name where staff read them (a programme's currency); others show their ISO code.
CURRENCY_NAMES = {YEN: _("Japanese yen")}


def _number(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def format_money(value: Any, currency: str = YEN, *, language: str | None = None) -> str:
    """「1,500円」 / "¥1,500" for yen; "12.50 USD" otherwise; "—" for no amount."""
    amount = _number(value)
    if amount is None:
        return "—"
    currency = (currency or YEN).upper()
    sign = "−" if amount < 0 else ""
    amount = abs(amount)
    digits = f"{amount:,.0f}" if amount == amount.to_integral_value() else f"{amount:,.2f}"
    if currency == YEN:
        if (language or get_language() or "en").startswith("ja"):
            return f"{sign}{digits}円"
        return f"{sign}¥{digits}"
    return f"{sign}{digits} {currency}"


def currency_name(code: str) -> str:
    """「日本円」 / "Japanese yen" for JPY; the ISO code for the others."""
    return str(CURRENCY_NAMES.get((code or "").upper(), code))
