"""Fast inserts for the batch services: instances built without ``Model.__init__``, ids from the sequence, COPY."""

from __future__ import annotations

from functools import cache

from django.db import connection, models
from django.db.models.base import ModelState

from touchpoints.funnel import COPY_FROM


@cache
def _attnames(model: type[models.Model]) -> tuple[str, ...]:
    return tuple(f.attname for f in model._meta.concrete_fields)


def instance(model: type[models.Model], row: tuple) -> models.Model:
    """An unsaved instance of ``model`` from ``row`` (a value for every concrete field, in field order): what
    ``model(*row)`` makes, without ``Model.__init__``'s work field by field, which a batch of a thousand touchpoints
    and their stage changes paid two thousand times. For models with no pre_init/post_init receivers (a test holds
    both the equality and that)."""
    obj = model.__new__(model)
    obj.__dict__.update(zip(_attnames(model), row, strict=True))
    obj._state = ModelState()
    return obj


def copy_insert(model: type[models.Model], objects: list) -> None:
    """Insert ``objects`` and set their ids: ids from the sequence and one COPY on PostgreSQL for a batch,
    ``bulk_create`` (one INSERT … RETURNING, one round trip) for a few or elsewhere. Constraint violations raise
    IntegrityError either way."""
    if not objects:
        return
    if connection.vendor != "postgresql" or len(objects) < COPY_FROM:
        model.objects.bulk_create(objects)
        return
    from psycopg.types.json import Jsonb

    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    attnames = [f.attname for f in fields]
    json_at = [i for i, f in enumerate(fields) if isinstance(f, models.JSONField)]
    quote = connection.ops.quote_name
    table = model._meta.db_table
    columns = ", ".join(quote(column) for column in ["id", *[f.column for f in fields]])
    with connection.cursor() as cursor, connection.wrap_database_errors:
        # The sequence named as a constant: pg_get_serial_sequence() per row cost ten microseconds an id.
        cursor.execute(f"SELECT nextval({_sequence(cursor, table)}) FROM generate_series(1, %s)", [len(objects)])  # noqa: S608
        pk_name = model._meta.pk.attname
        for obj, (pk,) in zip(objects, cursor.fetchall(), strict=True):
            obj.__dict__[pk_name] = pk
        with cursor.cursor.copy(f"COPY {quote(table)} ({columns}) FROM STDIN") as copy:
            for obj in objects:
                values = obj.__dict__
                row = [values[pk_name], *[values[name] for name in attnames]]
                for i in json_at:  # most metadata is empty: its text, without a json.dumps per row
                    row[i + 1] = "{}" if row[i + 1] == {} else Jsonb(row[i + 1])
                copy.write_row(row)
    alias = connection.alias
    for obj in objects:
        obj._state.adding = False
        obj._state.db = alias


_SEQUENCES: dict[str, str] = {}


def _sequence(cursor, table: str) -> str:
    """The id sequence of ``table`` as a regclass literal for SQL (looked up once per process)."""
    if table not in _SEQUENCES:
        cursor.execute("SELECT quote_literal(pg_get_serial_sequence(%s, 'id'))", [table])
        _SEQUENCES[table] = cursor.fetchone()[0] + "::regclass"
    return _SEQUENCES[table]
