"""The touchpoint-type menu cache: the catalogue changes rarely, and its menu is on every customer page."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import get_language

TYPE_MENU_CACHE_SECONDS = 60 * 60


def type_menu_cache_key() -> str:
    return f"touchpoints:type-menu:{get_language() or settings.LANGUAGE_CODE}"


def type_menu_forget() -> None:
    """Called after a catalogue entry is saved, so every language's menu is rebuilt."""
    cache.delete_many([f"touchpoints:type-menu:{code}" for code, _name in settings.LANGUAGES])
