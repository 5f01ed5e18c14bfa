"""Text the system writes (a follow-up ticket's title, a ledger entry's reason), kept as a key and its parameters
and rendered in the reader's language when it is shown.

A row keeps its text in the default language too (search, exports and the API read that column), and the key
beside it: a Japanese manager reads 「フォローアップ：CSAT…」 in the queue while an English colleague reads
"Follow up: CSAT…" on the same ticket. Each app registers the keys it writes (in its ``AppConfig.ready``); a key
no longer registered, or parameters that no longer fit, show the stored text, so nothing is ever lost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings
from django.utils import translation

logger = logging.getLogger(__name__)

Renderer = Callable[[Mapping[str, Any]], str]
_RENDERERS: dict[str, Renderer] = {}


def register(key: str, renderer: Renderer) -> None:
    """``renderer(params)`` returns the text in the active language (gettext inside it)."""
    _RENDERERS[key] = renderer


def render(key: str, params: Mapping[str, Any] | None, fallback: str) -> str:
    """The text for ``key`` in the active language; ``fallback`` (the stored text) when there is no key."""
    renderer = _RENDERERS.get(key) if key else None
    if renderer is None:
        return fallback
    try:
        return str(renderer(params or {}))
    except (KeyError, TypeError, ValueError):
        logger.warning("system text key=%s could not be rendered with its parameters", key)
        return fallback


def stored(key: str, params: Mapping[str, Any]) -> str:
    """The text as stored beside the key: in the site's default language."""
    with translation.override(settings.LANGUAGE_CODE):
        return render(key, params, "")
