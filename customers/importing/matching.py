"""Validating an import against the whole file and the database: rows matched to existing customers in bulk,
repeated keys, owners, and the clashes that need both.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection, models
from django.db.models import F, Lookup
from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from customers.importing.parsing import Plan, Row, parse
from customers.models import Customer

LOOKUP_CHUNK_SIZE = 5000  # keys per IN (...) lookup, where one array parameter is not available


class _Any(Lookup):
    """``lhs = ANY(%s)`` with the keys as one array parameter: far cheaper than IN (...) with thousands."""

    lookup_name = "any"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(%s)", (*params, self.rhs)


def _matching(queryset: models.QuerySet, expression: Any, keys: list[str]) -> Iterator[Any]:
    """The rows of ``queryset`` whose ``expression`` is one of ``keys``: one query on PostgreSQL (one scan)."""
    if connection.vendor == "postgresql":
        if keys:
            yield from queryset.filter(_Any(expression, keys))
        return
    for start in range(0, len(keys), LOOKUP_CHUNK_SIZE):
        chunk = keys[start : start + LOOKUP_CHUNK_SIZE]
        yield from queryset.alias(match_key=expression).filter(match_key__in=chunk)


def _existing_customers(plan: Plan, *, for_update: bool) -> tuple[dict[str, Customer], dict[str, Customer]]:
    """Existing customers by external ID and by lower-case email: whole and locked to write, else the few
    fields that validation reads. Each customer is loaded once, however many keys find it."""
    ext_ids = list({r.values["external_id"] for r in plan.rows if r.values.get("external_id")})
    emails = list({r.values["email"] for r in plan.rows if r.values.get("email")})
    customers = Customer.objects.order_by("pk")
    if for_update:
        customers = customers.select_for_update(of=("self",))
    else:
        customers = customers.only("pk", "external_id", "email", "marketing_consent", "updated_at")
    # The unique indexes on external ID and LOWER(email) are partial (WHERE … <> ''): say so, or they go unused.
    by_pk = {c.pk: c for c in _matching(customers.exclude(external_id=""), F("external_id"), ext_ids)}
    by_ext = {c.external_id: c for c in by_pk.values()}
    with_email = customers.exclude(email="").values_list(Lower("email"), "pk")
    email_pks = dict(_matching(with_email, Lower("email"), emails))
    missing = [pk for pk in email_pks.values() if pk not in by_pk]
    by_pk.update((c.pk, c) for c in _matching(customers, F("pk"), missing))
    return by_ext, {email: by_pk[pk] for email, pk in email_pks.items()}


def _owners(plan: Plan) -> dict[str, int]:
    names = list({r.values["owner"] for r in plan.rows if r.values.get("owner")})
    User = get_user_model()
    staff = User.objects.filter(is_active=True, is_staff=True).order_by().only("pk", User.USERNAME_FIELD)
    return {user.get_username(): user.pk for user in _matching(staff, F(User.USERNAME_FIELD), names)}


def _report_duplicates(rows: list[Row], column: str) -> None:
    first: dict[str, Row] = {}
    repeated: dict[str, list[Row]] = {}
    for row in rows:
        if (value := row.values.get(column)) and (seen := first.setdefault(value, row)) is not row:
            repeated.setdefault(value, [seen]).append(row)
    for value, same in repeated.items():
        for row in same:
            others = ", ".join(str(r.line) for r in same if r is not row)
            row.errors.append(
                _("%(column)s: %(value)s is also on line %(lines)s.")
                % {"column": column, "value": value, "lines": others}
            )


def resolve(
    plan: Plan, *, for_update: bool = False, check_duplicates: bool = True, claimed: dict[int, Row] | None = None
) -> None:
    """Match rows to existing customers and add the errors that need the whole file or the database.
    ``claimed`` (target id → first row updating it) carries over from earlier chunks of a streamed file."""
    rows = [r for r in plan.rows if not r.unreadable]
    # A row whose key cells could not be read cannot be matched: spare it the errors that would follow.
    key_unreadable = {r.line for r in rows if any(e.startswith(("external_id:", "email:")) for e in r.errors)}
    if check_duplicates:
        _report_duplicates(rows, "external_id")
        _report_duplicates(rows, "email")
    by_ext, by_email = _existing_customers(plan, for_update=for_update)
    plan.owners = _owners(plan)
    claimed = {} if claimed is None else claimed
    for row in rows:
        values = row.values
        ext = values.get("external_id")
        email = values.get("email")
        with_email = by_email.get(email) if email else None
        target = None
        if ext:
            target = by_ext.get(ext)
            if target is None and with_email is not None:
                if with_email.external_id:
                    row.errors.append(
                        _("email: %(email)s belongs to customer #%(pk)s, who has another external ID.")
                        % {"email": email, "pk": with_email.pk}
                    )
                else:
                    target = with_email  # an existing customer without an external ID is given this one
            elif target is not None and with_email is not None and with_email.pk != target.pk:
                row.errors.append(
                    _("email: %(email)s already belongs to another customer (#%(pk)s).")
                    % {"email": email, "pk": with_email.pk}
                )
        elif email:
            target = with_email
        row.customer = target

        if target is None:
            has_family_name = "family_name" in values or any(e.startswith("family_name:") for e in row.errors)
            if not has_family_name and row.line not in key_unreadable:
                row.errors.append(_("family_name: This column is required for a new customer."))
        elif (first := claimed.setdefault(target.pk, row)) is not row:
            message = _("This row updates the same customer (#%(pk)s) as line %(line)s.")
            row.errors.append(message % {"pk": target.pk, "line": first.line})
            first.errors.append(message % {"pk": target.pk, "line": row.line})

        if (owner := values.get("owner")) and owner not in plan.owners:
            row.errors.append(_("owner: No active staff member has the username %(name)s.") % {"name": owner})
        if ("marketing_consent" in values or "email" in values) and row.line not in key_unreadable:
            consents = values.get("marketing_consent", target.marketing_consent if target is not None else False)
            if consents and not values.get("email", target.email if target is not None else ""):
                row.errors.append(_("marketing_consent: Marketing consent needs an email address to send to."))


def validate(content: bytes, *, for_update: bool = False) -> Plan:
    plan = parse(content)
    if plan.rows:
        resolve(plan, for_update=for_update)
    return plan
