"""``{{ amount|money }}`` and ``{{ amount|money:currency }}``, loaded as a builtin (settings.TEMPLATES)."""

from typing import Any

from django import template

from customers.money import YEN, currency_name, format_money

register = template.Library()


@register.filter
def money(value: Any, currency: str = YEN) -> str:
    return format_money(value, currency or YEN)


@register.filter
def currency(code: str) -> str:
    return currency_name(code)
