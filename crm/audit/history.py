"""Reading the change history of one customer: who changed what, when, before → after.

Each tracked model's events are read with one query (their context joined); an update is the pair of
rows its statement wrote ("before" then "update"), matched per object. Field names are the models'
verbose names, values their display values, in the reader's language.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from customers.models import Customer

from . import models as audit_models
from .context import history_enabled

LABELS = {"insert": _("created"), "update": _("changed"), "delete": _("deleted"), "undone": _("undone")}
LINK_LABELS = {"insert": _("added"), "delete": _("removed")}
HIDDEN = {"id", "customer", "membership", "created_at"}  # the record's own keys: the row says which record it is


@dataclass
class Change:
    at: dt.datetime
    what: str
    action: str
    who: dict[str, Any]
    fields: list[tuple[str, str, str]] = field(default_factory=list)  # (field's name, before, after)


def _display(event: models.Model, name: str) -> str:
    tracked = event.pgh_tracked_model._meta.get_field(name)
    value = getattr(event, tracked.attname, None)
    if value is None or value == "":
        return "—"
    if tracked.is_relation:
        try:
            return str(getattr(event, name))  # the event's own key to the related row (joined by the query)
        except models.ObjectDoesNotExist:
            return f"#{value}"
    if tracked.choices:
        return str(dict(tracked.flatchoices).get(value, value))
    if isinstance(tracked, models.BooleanField):
        return str(_("yes") if value else _("no"))
    return str(value)


def _fields(event_model: type[models.Model]) -> list[str]:
    tracked = {f.name for f in event_model.pgh_tracked_model._meta.concrete_fields}
    return [f.name for f in event_model._meta.fields if f.name in tracked and f.name not in HIDDEN]


def _verbose(event_model: type[models.Model], name: str) -> str:
    return str(event_model.pgh_tracked_model._meta.get_field(name).verbose_name)


def _changes(event_model: type[models.Model], events: list[models.Model], what: str) -> list[Change]:
    names = _fields(event_model)
    before_of: dict[Any, models.Model] = {}
    out: list[Change] = []
    for event in events:  # in pgh_id order
        if event.pgh_label == "before":
            before_of[event.pgh_obj_id] = event
            continue
        who = event.pgh_context.metadata if event.pgh_context_id else {}
        change = Change(at=event.pgh_created_at, what=what, action=event.pgh_label, who=who)
        if event.pgh_label == "update":
            before = before_of.pop(event.pgh_obj_id, None)
            for name in names:
                old = _display(before, name) if before is not None else "?"
                new = _display(event, name)
                if old != new:
                    change.fields.append((_verbose(event_model, name), old, new))
            if not change.fields:
                continue
        else:
            shown = [(_verbose(event_model, n), "", _display(event, n)) for n in names]
            change.fields = [row for row in shown if row[2] != "—"]
        out.append(change)
    return out


def customer_history(customer: Customer, *, limit: int = 200) -> list[Change]:
    """The customer's changes, newest first: its profile and consent, notes, tags, memberships, adjustments, undone
    calls."""
    if not history_enabled():
        return []
    sources = [
        (audit_models.CustomerEvent, {"pgh_obj_id": customer.pk}, _("Profile"), ["owner"]),
        (audit_models.NoteEvent, {"customer_id": customer.pk}, _("Note"), ["author"]),
        (audit_models.CustomerTagEvent, {"customer_id": customer.pk}, _("Tag"), ["tag"]),
        (audit_models.MembershipEvent, {"customer_id": customer.pk}, _("Membership"), ["programme", "tier"]),
        (audit_models.LedgerAdjustEvent, {"membership__customer_id": customer.pk}, _("Points adjustment"), ["by"]),
        (audit_models.TouchpointUndoEvent, {"customer_id": customer.pk}, _("Call"), ["type", "recorded_by_user"]),
    ]
    changes: list[Change] = []
    for event_model, lookup, what, related in sources:
        newest = event_model.objects.filter(**lookup).select_related("pgh_context", *related).order_by("-pgh_id")
        events = list(reversed(newest[:limit]))
        found = _changes(event_model, events, str(what))
        if event_model is audit_models.CustomerTagEvent:
            for change in found:
                change.action = str(LINK_LABELS.get(change.action, change.action))
        changes += found
    for change in changes:
        change.action = str(LABELS.get(change.action, change.action))
    changes.sort(key=lambda c: c.at, reverse=True)
    changes = changes[:limit]
    _name_users(changes)
    return changes


def _name_users(changes: list[Change]) -> None:
    """The staff member's username next to the id the context recorded (one query; the id stays if deleted)."""
    from django.contrib.auth import get_user_model

    ids = {c.who.get("user") for c in changes if c.who.get("user")}
    names = dict(get_user_model().objects.filter(pk__in=ids).values_list("pk", "username")) if ids else {}
    for change in changes:
        if change.who.get("user"):
            change.who = {**change.who, "username": names.get(change.who["user"], f"#{change.who['user']}")}
