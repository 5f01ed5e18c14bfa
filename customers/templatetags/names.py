"""Names in templates, loaded as a builtin (settings.TEMPLATES) so every page writes them one way:
``{{ user|staff_name }}``, ``{{ customer.display_name|honorific }}``, ``{{ user|staff_name|honorific:"staff" }}``."""

from typing import Any

from django import template

from customers import names
from customers.roles import role_label

register = template.Library()


@register.filter
def staff_name(user: Any) -> str:
    return names.staff_name(user)


@register.filter
def honorific(name: str, kind: str = names.CUSTOMER) -> str:
    """様 after a customer's name, さん after a colleague's, in Japanese; nothing in English."""
    return names.with_honorific(str(name), kind if kind in names.HONORIFICS else names.CUSTOMER)


@register.filter
def team_name(group: Any) -> str:
    """A team (auth group) by its name in the reader's language."""
    return role_label(getattr(group, "name", group) or "")
