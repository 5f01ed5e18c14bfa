"""The merge page's comparison: two records field by field, which fields differ, and the staff's choice of value
for each (read from the posted form and handed to ``services.customer_merge`` as ``choices``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .models import Customer
from .querysets import MERGE_COMPARE_FIELDS
from .services import MERGE_CHOICE_FIELDS, MergeSide


def _choice_key(field: str) -> str:
    return "owner_id" if field == "owner" else field


def _raw(customer: Customer, field: str) -> Any:
    value = getattr(customer, _choice_key(field))
    return value.lower() if field in ("email", "secondary_email") and value else value


@dataclass
class CompareRow:
    field: str
    differs: bool
    choosable: bool
    chosen_pk: int | None  # the record whose value is taken by default


def compare_rows(customers: list[Customer]) -> list[CompareRow]:
    """One row per compared field, oldest record first: a differing field is chosen (a radio per record) when
    both records hold a value; by default the oldest record's, or the one that has a value."""
    first, second = customers
    rows = []
    for field in MERGE_COMPARE_FIELDS:
        a, b = _raw(first, field), _raw(second, field)
        differs = a != b and field != "created_at"  # two records are always created at different times
        choosable = differs and _choice_key(field) in MERGE_CHOICE_FIELDS
        chosen = None
        if choosable:
            chosen = first.pk if a not in (None, "") or b in (None, "") else second.pk
        rows.append(CompareRow(field=field, differs=differs, choosable=choosable, chosen_pk=chosen))
    return rows


def posted_choices(data, *, rows: list[CompareRow], keep: int, pks: set[int]) -> dict[str, str]:
    """``{field: "primary"|"duplicate"}`` from the radios ``field_<name>`` (a record's id each); a field left
    unchosen, or given an id of neither record, follows the service's rule (the kept value, else the other's)."""
    choices = {}
    for row in rows:
        if not row.choosable:
            continue
        picked = data.get(f"field_{row.field}", "")
        if not picked.isdigit() or int(picked) not in pks:
            continue
        choices[_choice_key(row.field)] = MergeSide.PRIMARY if int(picked) == keep else MergeSide.DUPLICATE
    return choices
