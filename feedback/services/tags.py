"""Ticket tags, matched by name ignoring case."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from ..models import TicketTag


def tags_get_or_create(names: Iterable[str]) -> list[TicketTag]:
    """Ticket tags by name, ignoring case, creating the missing ones."""
    wanted: dict[str, str] = {}
    for name in names:
        clean = " ".join((name or "").split())[:50]
        if clean:
            if "\x00" in clean:
                raise ValidationError({"tags": _("Null characters are not allowed.")})
            wanted.setdefault(clean.lower(), clean)
    if not wanted:
        return []

    def existing() -> dict[str, TicketTag]:
        found = TicketTag.objects.annotate(name_lower=Lower("name")).filter(name_lower__in=list(wanted))
        return {t.name.lower(): t for t in found}

    tags = existing()
    missing = [TicketTag(name=wanted[k]) for k in wanted if k not in tags]
    if missing:
        TicketTag.objects.bulk_create(missing, ignore_conflicts=True)
        tags = existing()
    return [tags[k] for k in wanted if k in tags]


def parse_tags(text: str) -> list[str]:
    return [part.strip() for part in (text or "").replace("、", ",").split(",") if part.strip()]
