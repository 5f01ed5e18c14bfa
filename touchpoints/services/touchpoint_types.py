"""Writes to the touchpoint catalogue (the types a touchpoint can have)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from touchpoints.catalogue import type_menu_forget
from touchpoints.models import TouchpointType

TYPE_FIELDS = {"slug", "name", "stage", "kind", "description", "position", "is_active"}


@transaction.atomic
def touchpoint_type_save(*, data: dict[str, Any], touchpoint_type: TouchpointType | None = None) -> TouchpointType:
    """Create or edit a catalogue entry. A slug never changes once created (the API refers to it)."""
    unknown = set(data) - TYPE_FIELDS
    if unknown:
        raise ValueError(f"unknown touchpoint type fields: {sorted(unknown)}")
    creating = touchpoint_type is None
    touchpoint_type = touchpoint_type or TouchpointType()
    for key, value in data.items():
        if key == "slug" and not creating:
            continue
        setattr(touchpoint_type, key, value)
    touchpoint_type.name = " ".join((touchpoint_type.name or "").split())
    touchpoint_type.full_clean(validate_unique=False)
    if creating and TouchpointType.objects.filter(slug=touchpoint_type.slug).exists():
        raise ValidationError({"slug": _("A touchpoint type with this slug already exists.")})
    touchpoint_type.save()
    transaction.on_commit(type_menu_forget)
    return touchpoint_type
