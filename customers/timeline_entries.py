"""The notes on the customer timeline: their rows (only the columns shown) and their HTML, written once per page the
way ``customers/includes/_timeline_note.html`` writes one note (that template still renders a note just added)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import QuerySet
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from . import timeline
from .models import Note

NOTE_FIELDS = ("body", "created_at", "author__username", "author__first_name", "author__last_name")

NOTE_HTML = """
<span class="timeline-icon"><i class="bi bi-sticky text-warning" aria-hidden="true"></i></span>
<div class="small text-body-secondary">{by}</div>
<div class="timeline-body">{body}</div>
"""


def note_rows(customer: Any, filters: dict[str, str]) -> QuerySet:
    return Note.objects.filter(customer=customer).select_related("author").only(*NOTE_FIELDS)


def note_entries(notes: Sequence[Note]) -> list[SafeString]:
    note_by = timeline.Message(_("Note by %(who)s · %(when)s"))
    someone = _("someone")
    return [
        format_html(
            NOTE_HTML,
            by=note_by(who=timeline.user_name(note.author) or someone, when=timeline.when(note.created_at)),
            body=note.body,
        )
        for note in notes
    ]
