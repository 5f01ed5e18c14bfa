"""A customer's disclosure archive (APPI art. 33, GDPR art. 15): everything held about them, in one ZIP.

The archive holds ``customer.json`` (every section, nested) and one CSV a section, Excel-safe like the other
exports (crm/insights/exports.py: a BOM, CRLF, formula-safe cells). The sections are read here, through the
apps' models: crm is the top layer, and the apps below stay unaware of the disclosure.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import QuerySet
from django.utils import timezone

from crm.audit import models as audit_models
from crm.audit.context import history_enabled
from crm.insights.exports import csv_text
from customers.models import ContactPreference, Customer, CustomerMerge, CustomerTag, Note
from feedback.models import Survey, Ticket, TicketMessage
from loyalty.models import Greeting, LedgerEntry, Membership, Redemption, TierChange
from touchpoints.models import StageTransition, Touchpoint
from touchpoints.outreach.models import OutboundMessage, StaffTask

# Derived keys (search and sort), not data the customer gave.
PROFILE_SKIPPED = {"name_sort", "search_text"}


@dataclass(frozen=True)
class Section:
    name: str
    rows: Callable[[Customer], Iterable[dict[str, Any]]]


def _values(queryset: QuerySet, *fields: str) -> list[dict[str, Any]]:
    return list(queryset.values(*fields))


def profile(customer: Customer) -> list[dict[str, Any]]:
    fields = [f.attname for f in Customer._meta.concrete_fields if f.attname not in PROFILE_SKIPPED]
    return _values(Customer.objects.filter(pk=customer.pk), *fields)


def consent(customer: Customer) -> list[dict[str, Any]]:
    return _values(
        Customer.objects.filter(pk=customer.pk),
        "marketing_consent",
        "consent_at",
        "consent_source",
        "consent_evidence",
        "do_not_contact",
    )


def history(customer: Customer) -> list[dict[str, Any]]:
    """The profile's and consent's recorded changes (django-pghistory's rows): what each version held, and when."""
    if not history_enabled():
        return []
    event = audit_models.CustomerEvent
    fields = [f.attname for f in event._meta.concrete_fields if f.attname not in {"pgh_obj_id", "pgh_context_id"}]
    return _values(event.objects.filter(pgh_obj_id=customer.pk).order_by("pgh_id"), *fields)


def contact_preferences(customer: Customer) -> list[dict[str, Any]]:
    """Every choice made in the preference centre (or recorded by staff), oldest first: the history of them."""
    return _values(
        ContactPreference.objects.filter(customer=customer).order_by("at", "id"),
        "channel",
        "purpose",
        "allowed",
        "at",
        "source",
        "evidence",
    )


def tags(customer: Customer) -> list[dict[str, Any]]:
    return _values(CustomerTag.objects.filter(customer=customer).order_by("tag__name"), "tag__name")


def notes(customer: Customer) -> list[dict[str, Any]]:
    return _values(Note.objects.filter(customer=customer).order_by("created_at", "id"), "created_at", "body")


def merges(customer: Customer) -> list[dict[str, Any]]:
    """Records merged into this one: what each held when it was folded in."""
    return _values(
        CustomerMerge.objects.filter(customer=customer).order_by("created_at", "id"),
        "created_at",
        "merged_customer_id",
        "merged_data",
    )


def touchpoints(customer: Customer) -> list[dict[str, Any]]:
    return _values(
        Touchpoint.objects.filter(customer=customer).order_by("occurred_at", "id"),
        "id",
        "occurred_at",
        "type__name",
        "stage",
        "channel",
        "direction",
        "summary",
        "amount",
        "currency",
        "order_reference",
        "campaign",
        "utm_source",
        "metadata",
        "source",
    )


def stages(customer: Customer) -> list[dict[str, Any]]:
    return _values(
        StageTransition.objects.filter(customer=customer).order_by("at", "id"), "at", "from_stage", "to_stage", "reason"
    )


def tickets(customer: Customer) -> list[dict[str, Any]]:
    return _values(
        Ticket.objects.filter(customer=customer).order_by("created_at", "id"),
        "id",
        "created_at",
        "kind",
        "channel",
        "subject",
        "body",
        "status",
        "priority",
        "order_reference",
        "resolved_at",
        "closed_at",
    )


def ticket_messages(customer: Customer) -> list[dict[str, Any]]:
    return _values(
        TicketMessage.objects.filter(customer=customer).order_by("created_at", "id"),
        "ticket_id",
        "created_at",
        "kind",
        "body",
    )


def outbound_messages(customer: Customer) -> list[dict[str, Any]]:
    return _values(
        OutboundMessage.objects.filter(customer=customer).order_by("created_at", "id"),
        "created_at",
        "channel",
        "purpose",
        "to_address",
        "subject",
        "body",
        "status",
        "sent_at",
    )


def staff_tasks(customer: Customer) -> list[dict[str, Any]]:
    return _values(
        StaffTask.objects.filter(customer=customer).order_by("created_at", "id"),
        "created_at",
        "title",
        "note",
        "channel",
        "due_at",
        "status",
    )


def memberships(customer: Customer) -> list[dict[str, Any]]:
    return _values(
        Membership.objects.filter(customer=customer).order_by("joined_at", "id"),
        "programme__name",
        "member_number",
        "tier__name",
        "status",
        "joined_at",
        "balance",
        "lifetime_points",
        "closed_at",
    )


def tier_changes(customer: Customer) -> list[dict[str, Any]]:
    return _values(
        TierChange.objects.filter(membership__customer=customer).order_by("at", "id"),
        "at",
        "membership__member_number",
        "from_tier__name",
        "to_tier__name",
        "reason",
    )


def ledger(customer: Customer) -> list[dict[str, Any]]:
    return _values(
        LedgerEntry.objects.filter(membership__customer=customer).order_by("created_at", "id"),
        "created_at",
        "membership__member_number",
        "kind",
        "points",
        "reason",
        "order_reference",
        "amount",
        "expires_on",
    )


def redemptions(customer: Customer) -> list[dict[str, Any]]:
    return _values(
        Redemption.objects.filter(membership__customer=customer).order_by("created_at", "id"),
        "created_at",
        "reward__name",
        "points",
        "voucher_code",
        "status",
        "cancelled_at",
    )


def greetings(customer: Customer) -> list[dict[str, Any]]:
    return _values(
        Greeting.objects.filter(customer=customer).order_by("due_on", "id"),
        "kind",
        "occasion",
        "due_on",
        "status",
        "bonus_points",
    )


def surveys(customer: Customer) -> list[dict[str, Any]]:
    return _values(
        Survey.objects.filter(customer=customer).order_by("created_at", "id"),
        "kind",
        "created_at",
        "answered_at",
        "score",
        "comment",
    )


SECTIONS: list[Section] = [
    Section("profile", profile),
    Section("consent", consent),
    Section("consent_history", history),
    Section("contact_preferences", contact_preferences),
    Section("tags", tags),
    Section("notes", notes),
    Section("merges", merges),
    Section("touchpoints", touchpoints),
    Section("stages", stages),
    Section("tickets", tickets),
    Section("ticket_messages", ticket_messages),
    Section("outbound_messages", outbound_messages),
    Section("staff_tasks", staff_tasks),
    Section("memberships", memberships),
    Section("tier_changes", tier_changes),
    Section("ledger", ledger),
    Section("redemptions", redemptions),
    Section("greetings", greetings),
    Section("surveys", surveys),
]


def disclosure_data(customer: Customer) -> dict[str, list[dict[str, Any]]]:
    return {section.name: list(section.rows(customer)) for section in SECTIONS}


def _flat(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).isoformat() if timezone.is_aware(value) else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, cls=DjangoJSONEncoder)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal | int | float):
        return value
    return str(value)


def _csv(rows: list[dict[str, Any]]) -> str:
    header: list[str] = []
    for row in rows:
        header += [key for key in row if key not in header]
    return csv_text([header, *([_flat(row.get(key)) for key in header] for row in rows)])


def disclosure_archive(customer: Customer, *, request_id: int | None = None) -> bytes:
    """The ZIP: ``customer.json`` and ``<section>.csv`` for each section (a header only when it is empty)."""
    data = disclosure_data(customer)
    document = {
        "customer_id": customer.pk,
        "request_id": request_id,
        "generated_at": timezone.localtime().isoformat(),
        "sections": data,
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("customer.json", json.dumps(document, ensure_ascii=False, indent=2, cls=DjangoJSONEncoder))
        for name, rows in data.items():
            archive.writestr(f"{name}.csv", _csv(rows))
    return buffer.getvalue()
