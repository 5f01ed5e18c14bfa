from django import template
from django.contrib.humanize.templatetags.humanize import intcomma

register = template.Library()


@register.filter
def signed_points(value) -> str:
    """+1,200 / −300 / 0: a ledger amount with its sign (a real minus sign, for reading)."""
    try:
        n = int(value)
    except (TypeError, ValueError):
        return ""
    if n > 0:
        return f"+{intcomma(n)}"
    if n < 0:
        return f"−{intcomma(-n)}"
    return "0"
