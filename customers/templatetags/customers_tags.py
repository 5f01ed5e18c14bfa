from django import template
from django.db.models import Model
from django.template.defaultfilters import date as date_filter
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from customers.names import staff_name

register = template.Library()


@register.simple_tag
def field_label(obj: Model, name: str) -> str:
    return capfirst(str(obj._meta.get_field(name).verbose_name))


@register.simple_tag
def field_value(obj: Model, name: str) -> str:
    """A field's value for display (choices by label, dates localised); autoescaped by the caller."""
    field = obj._meta.get_field(name)
    value = getattr(obj, name)
    if field.choices:
        return getattr(obj, f"get_{name}_display")()
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if value is None or value == "":
        return "—"
    if name in ("phone", "secondary_phone"):
        return obj.phone_display if name == "phone" else obj.secondary_phone_display
    if field.get_internal_type() in {"DateField", "DateTimeField"}:
        return date_filter(value, "SHORT_DATE_FORMAT")
    if name == "owner":
        return staff_name(value)
    return str(value)
