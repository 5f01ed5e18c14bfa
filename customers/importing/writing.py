"""Writing a validated import in one transaction: updates in batches, new customers by COPY on PostgreSQL
(``bulk_create`` elsewhere), their tags and consent.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from django.db import connection, models
from django.utils import timezone

from customers import services
from customers.importing.matching import LOOKUP_CHUNK_SIZE
from customers.importing.parsing import COLUMNS, Plan
from customers.models import Customer

# Columns copied onto the model as they are; tags, owner and the consent columns are handled apart.
_PLAIN_FIELDS = [c for c in COLUMNS if c not in {"tags", "owner", "marketing_consent", "consent_evidence"}]
UPDATE_BATCH_SIZE = 1000  # rows per UPDATE statement (bulk_update)
INSERT_BATCH_SIZE = 2000  # rows per INSERT statement where COPY is not available


def write(plan: Plan, *, file_name: str) -> list[int]:
    """Write the plan's rows; the ids of the customers it created."""
    now = timezone.now()
    evidence_default = f"CSV import {file_name}"[:300]
    created_rows, updated_rows = plan.created, plan.updated

    defaults = {f.attname: f.get_default() for f in Customer._meta.concrete_fields if not f.primary_key}
    new = [
        _new_customer(row.values, plan.owners, now=now, evidence_default=evidence_default, defaults=defaults)
        for row in created_rows
    ]
    new_ids = _insert_new(new)

    changed: list[Customer] = []
    fields = {"name_sort", "search_text", "updated_at"}
    for row in updated_rows:
        values, customer = row.values, row.customer
        for name in _PLAIN_FIELDS:
            if name in values:
                setattr(customer, name, values[name])
                fields.add(name)
        if "owner" in values:
            customer.owner_id = plan.owners[values["owner"]] if values["owner"] else None
            fields.add("owner")
        if "marketing_consent" in values or "consent_evidence" in values:
            _update_consent(customer, values, now=now, evidence_default=evidence_default)
            fields.update({"marketing_consent", "consent_at", "consent_source", "consent_evidence"})
        customer.updated_at = now
        customer.derive_fields()
        changed.append(customer)
    _update(Customer, changed, sorted(fields), ignore={"updated_at"})

    _write_tags(
        [(pk, row.values.get("tags", [])) for pk, row in zip(new_ids, created_rows, strict=True)],
        [(row.customer.pk, row.values["tags"]) for row in updated_rows if "tags" in row.values],
        created_at=now,
    )
    return new_ids


def _new_customer(
    values: dict[str, Any], owners: dict[str, int], *, now: datetime, evidence_default: str, defaults: dict[str, Any]
) -> SimpleNamespace:
    """A new customer's field values by attname. A namespace, not a model instance: building 50,000 instances
    cost more than writing them; ``derive_fields`` only reads and sets attributes."""
    customer = SimpleNamespace(**defaults)
    for name in _PLAIN_FIELDS:
        if name in values:
            setattr(customer, name, values[name])
    customer.consent_evidence = values.get("consent_evidence", "")
    customer.owner_id = owners[values["owner"]] if values.get("owner") else None
    customer.created_at = customer.updated_at = now
    if "source" not in values:
        customer.source = Customer.Source.IMPORT
    if values.get("marketing_consent"):
        customer.marketing_consent = True
        customer.consent_at = now
        customer.consent_source = Customer.ConsentSource.IMPORT
        customer.consent_evidence = customer.consent_evidence or evidence_default
    Customer.derive_fields(customer)
    return customer


def _update_consent(customer: Customer, values: dict[str, Any], *, now: datetime, evidence_default: str) -> None:
    """A change of consent is dated; the proof of a standing opt-in is not erased by an empty cell."""
    was = customer.marketing_consent
    consents = values.get("marketing_consent", was)
    evidence = values.get("consent_evidence")
    if consents and not was:
        customer.marketing_consent = True
        customer.consent_at = now
        customer.consent_source = Customer.ConsentSource.IMPORT
        customer.consent_evidence = evidence or evidence_default
    elif was and not consents:
        customer.marketing_consent = False
        customer.consent_at = now
        if evidence is not None:
            customer.consent_evidence = evidence
    elif evidence or (evidence is not None and not consents):
        customer.consent_evidence = evidence


def _write_tags(
    created: list[tuple[int, list[str]]], updated: list[tuple[int, list[str]]], *, created_at: datetime
) -> None:
    """New customers (created at ``created_at``) get their tags; a tags cell on an updated row replaces that
    customer's tags (by id). On PostgreSQL only the links that differ are deleted and added, so the history records
    real changes only, and each link is written with its customer's ``created_at``: the table's trigger (migration
    0009) then has no customer to look up, row by row."""
    through = Customer.tags.through
    names = {name for _customer, tags in (*created, *updated) for name in tags}
    tag_ids = {tag.name.lower(): tag.pk for tag in services.tags_get_or_create(list(names))} if names else {}

    def links(wanted: list[tuple[int, list[str]]]) -> list[tuple[int, int]]:
        return [(pk, tag_ids[name.lower()]) for pk, tags in wanted for name in tags]

    if not _copy_supported(through):
        for start in range(0, len(updated), LOOKUP_CHUNK_SIZE):
            chunk = [pk for pk, _tags in updated[start : start + LOOKUP_CHUNK_SIZE]]
            through.objects.filter(customer_id__in=chunk).delete()
        pairs = links(created + updated)
        through.objects.bulk_create([through(customer_id=c, tag_id=t) for c, t in pairs], batch_size=INSERT_BATCH_SIZE)
        return
    if created:
        columns = ["customer_id", "tag_id", "customer_created_at"]
        _copy(through, columns, ((customer, tag, created_at) for customer, tag in links(created)))
    if updated:
        _tags_replace([pk for pk, _tags in updated], links(updated))


def _tags_replace(customer_ids: list[int], pairs: list[tuple[int, int]]) -> None:
    """The tags of ``customer_ids`` become ``pairs`` (customer id, tag id): COPY into a temporary table, then
    delete the links not wanted and add the missing ones, each in one statement."""
    quote = connection.ops.quote_name
    table, scratch = quote(Customer.tags.through._meta.db_table), quote("customers_customer_tags_import")
    customers = quote(Customer._meta.db_table)
    # Only quoted names from the model's options go into these statements; the values travel as parameters.
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE {scratch} (customer_id bigint, tag_id bigint)")
        _copy_into(scratch, ["customer_id", "tag_id"], pairs)
        cursor.execute(
            f"DELETE FROM {table} AS t WHERE t.customer_id = ANY(%s) AND NOT EXISTS "  # noqa: S608
            f"(SELECT 1 FROM {scratch} AS s WHERE s.customer_id = t.customer_id AND s.tag_id = t.tag_id)",
            [customer_ids],
        )
        cursor.execute(
            f"INSERT INTO {table} (customer_id, tag_id, customer_created_at) "  # noqa: S608
            f"SELECT DISTINCT s.customer_id, s.tag_id, c.created_at FROM {scratch} AS s "
            f"JOIN {customers} AS c ON c.id = s.customer_id "
            f"WHERE NOT EXISTS (SELECT 1 FROM {table} AS t WHERE t.customer_id = s.customer_id AND t.tag_id = s.tag_id)"
        )
        cursor.execute(f"DROP TABLE {scratch}")


def _copy_supported(model: type[models.Model]) -> bool:
    """COPY sends Python values as they are: only on psycopg 3, for fields whose database value is the value."""
    if connection.vendor != "postgresql":
        return False
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    plain = (models.CharField, models.TextField, models.DateField, models.BooleanField, models.IntegerField)
    return is_psycopg3 and all(isinstance(f, (*plain, models.ForeignKey)) for f in model._meta.concrete_fields)


def _insert_new(rows: list[SimpleNamespace]) -> list[int]:
    """Insert new customers (values by attname): COPY with ids drawn from the sequence on PostgreSQL, else
    bulk_create. Their ids, in order."""
    if not rows:
        return []
    if not _copy_supported(Customer):
        objs = [Customer(**vars(row)) for row in rows]
        Customer._default_manager.bulk_create(objs, batch_size=INSERT_BATCH_SIZE)
        return [obj.pk for obj in objs]
    meta = Customer._meta
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, meta.pk.column, len(rows)],
        )
        ids = [pk for (pk,) in cursor.fetchall()]
    attnames = [f.attname for f in meta.concrete_fields if not f.primary_key]
    _copy(
        Customer,
        [meta.pk.attname, *attnames],
        ([pk, *map(vars(row).__getitem__, attnames)] for pk, row in zip(ids, rows, strict=True)),
    )
    return ids


def _update(
    model: type[models.Model], objs: list[models.Model], names: list[str], *, ignore: Collection[str] = ()
) -> None:
    """Write the fields ``names`` of ``objs``: COPY into a temporary table and one UPDATE on PostgreSQL,
    else bulk_update (whose CASE WHEN per field and row costs milliseconds a row). On PostgreSQL a row whose
    fields other than ``ignore`` are all as stored is left alone: re-importing a shop's full export then
    rewrites (every index of) and records in the history only the customers that changed."""
    if not objs:
        return
    if not _copy_supported(model):
        model._default_manager.bulk_update(objs, names, batch_size=UPDATE_BATCH_SIZE)
        return
    meta = model._meta
    quote = connection.ops.quote_name
    fields = [meta.pk, *(meta.get_field(name) for name in names)]
    columns = [quote(f.column) for f in fields]
    table, scratch, pk = quote(meta.db_table), quote(f"{meta.db_table}_import"), quote(meta.pk.column)
    attnames = [f.attname for f in fields]
    assignments = ", ".join(f"{c} = s.{c}" for c in columns[1:])
    compared = [quote(f.column) for f in fields[1:] if f.name not in ignore]
    differs = f"({', '.join(f't.{c}' for c in compared)}) IS DISTINCT FROM ({', '.join(f's.{c}' for c in compared)})"
    # Only quoted names from the model's options go into these statements; the values travel by COPY.
    create = f"CREATE TEMPORARY TABLE {scratch} AS SELECT {', '.join(columns)} FROM {table} WITH NO DATA"  # noqa: S608
    update = f"UPDATE {table} AS t SET {assignments} FROM {scratch} AS s WHERE t.{pk} = s.{pk} AND {differs}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(create)
        _copy_into(scratch, columns, ([getattr(obj, name) for name in attnames] for obj in objs))
        cursor.execute(update)
        cursor.execute(f"DROP TABLE {scratch}")


def _copy(model: type[models.Model], attnames: list[str], rows: Iterable[Sequence[Any]]) -> None:
    quote = connection.ops.quote_name
    columns = [quote(model._meta.get_field(name).column) for name in attnames]
    _copy_into(quote(model._meta.db_table), columns, rows)


def _copy_into(table: str, columns: list[str], rows: Iterable[Sequence[Any]]) -> None:
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    # wrap_database_errors: a unique violation raises Django's IntegrityError, as from any other query.
    with connection.cursor() as cursor, connection.wrap_database_errors, cursor.cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)
