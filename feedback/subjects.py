"""Subjects the system writes on tickets, as keys rendered in the reader's language (customers.system_text).

The follow-up a bad survey answer opens was titled in the site's default language and read 「Follow up: CSAT
(1–5) score 2 (T-000123)」 in the Japanese queue; the ticket now keeps the key and its parameters, and every page
shows ``Ticket.display_subject``. ``subject`` keeps the default-language text for search, the API and mail.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _

from customers import system_text

from .references import format_reference

FOLLOW_UP = "feedback.follow_up"


def _follow_up(p: Mapping[str, Any]) -> str:
    from .models import Survey  # the models import this module's package

    text = _("Follow up: %(kind)s score %(score)d") % {"kind": Survey.Kind(p["kind"]).label, "score": p["score"]}
    if p.get("ticket"):
        text += f" ({format_reference(p['ticket'])})"
    return text


def register() -> None:
    system_text.register(FOLLOW_UP, _follow_up)


def subject(key: str, **params: Any) -> dict[str, Any]:
    """A ticket's subject fields for a system subject: ``ticket_open(..., **subject(FOLLOW_UP, ...))``."""
    return {"subject": system_text.stored(key, params)[:200], "subject_key": key, "subject_params": params}
