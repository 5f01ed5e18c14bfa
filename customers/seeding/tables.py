"""Writing generated rows fast: ``TableWriter`` (COPY on PostgreSQL) and ``BulkLoad`` (pg_restore's way)."""

from __future__ import annotations

import json
import operator
import time
from collections.abc import Sequence

from django.db import DEFAULT_DB_ALIAS, connections, models

from customers.seeding.draws import Row


class TableWriter:
    """Writes ``Row``s fast: COPY on PostgreSQL (psycopg 3), ``bulk_create`` in batches elsewhere.

    Rows are written as they are, without ``save()``: the caller fills every column, ``auto_now`` ones
    and derived fields included (a missing column gets the field's default). The primary key is written
    when the rows carry it and left to the database when they do not.
    """

    def __init__(self, using: str = DEFAULT_DB_ALIAS, *, batch_size: int = 1000, copy: bool | None = None) -> None:
        self.connection = connections[using]
        self.using = using
        self.batch_size = batch_size
        self.copy = self.connection.vendor == "postgresql" if copy is None else copy

    def reserve_ids(self, model: type[models.Model], count: int) -> int:
        """Reserve ``count`` consecutive primary keys (call inside the loading transaction); return the first."""
        table = model._meta.db_table
        pk = model._meta.pk.column
        quote = self.connection.ops.quote_name
        with self.connection.cursor() as cursor:
            if self.connection.vendor == "postgresql":
                cursor.execute(f"LOCK TABLE {quote(table)} IN SHARE ROW EXCLUSIVE MODE")
                cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [table, pk])
                (sequence,) = cursor.fetchone()
                cursor.execute(f"SELECT COALESCE(MAX({quote(pk)}), 0) FROM {quote(table)}")  # noqa: S608 (model names)
                (max_id,) = cursor.fetchone()
                cursor.execute("SELECT nextval(%s)", [sequence])
                (first,) = cursor.fetchone()
                first = max(first, max_id + 1)
                cursor.execute("SELECT setval(%s, %s)", [sequence, max(first + count - 1, 1)])
                return first
            cursor.execute(f"SELECT COALESCE(MAX({quote(pk)}), 0) FROM {quote(table)}")  # noqa: S608 (model names)
            (first,) = cursor.fetchone()
            if self.connection.vendor == "sqlite":  # AUTOINCREMENT never reuses a deleted row's id
                cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
                found = cursor.fetchone()
                first = max(first, found[0] if found else 0)
            return first + 1

    def write(self, model: type[models.Model], rows: Sequence[Row]) -> None:
        if not rows:
            return
        first = rows[0]
        with_pk = getattr(first, model._meta.pk.attname, None) is not None
        fields = [f for f in model._meta.concrete_fields if with_pk or not f.primary_key]
        for f in fields:
            if not hasattr(first, f.attname):
                default = f.get_default()
                for row in rows:
                    setattr(row, f.attname, default)
        if not self.copy:
            objs = [model(**{f.attname: getattr(row, f.attname) for f in fields}) for row in rows]
            model._base_manager.using(self.using).bulk_create(objs, batch_size=self.batch_size)
            return
        quote = self.connection.ops.quote_name
        columns = ", ".join(quote(f.column) for f in fields)
        values = operator.attrgetter(*(f.attname for f in fields))
        sql = f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN"
        with self.connection.cursor() as cursor, cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(values(row))

    def write_tuples(self, model: type[models.Model], columns: Sequence[str], rows: Sequence[tuple]) -> None:
        """Write rows given as tuples in ``columns`` order (attnames): the fast path for millions of rows.

        Other concrete fields get their default. JSON columns hold their JSON text.
        """
        if not rows:
            return
        fields = {f.attname: f for f in model._meta.concrete_fields}
        rest = [f for name, f in fields.items() if name not in columns and not f.primary_key]
        defaults = tuple(f.get_default() for f in rest)
        names = [*columns, *(f.attname for f in rest)]
        json_at = [i for i, name in enumerate(names) if isinstance(fields[name], models.JSONField)]
        if not self.copy:
            objs = []
            for row in rows:
                values = [*row, *defaults]
                for i in json_at:
                    if isinstance(values[i], str):
                        values[i] = json.loads(values[i])
                objs.append(model(**dict(zip(names, values, strict=True))))
            model._base_manager.using(self.using).bulk_create(objs, batch_size=self.batch_size)
            return
        quote = self.connection.ops.quote_name
        sql = f"COPY {quote(model._meta.db_table)} ({', '.join(quote(fields[n].column) for n in names)}) FROM STDIN"
        json_defaults = any(i >= len(columns) for i in json_at)
        if json_defaults:  # a JSON field the caller left out: its default as JSON text
            defaults = tuple(json.dumps(d) if isinstance(d, dict | list) else d for d in defaults)
        with self.connection.cursor() as cursor, cursor.copy(sql) as copy:
            if defaults:
                for row in rows:
                    copy.write_row(row + defaults)
            else:
                for row in rows:
                    copy.write_row(row)


class BulkLoad:
    """Drop the loaded tables' secondary indexes and foreign keys for a big COPY; put them back after.

    The way pg_restore loads: one CREATE INDEX and one foreign-key check per table at the end are much
    faster than upkeep and a trigger per row. PostgreSQL only, and inside the loading transaction, so if
    anything fails the drops roll back too. Primary keys and unique indexes stay: the database still
    guarantees unique ids, emails and external IDs during the load. The definitions are read back from
    the catalogue (``pg_get_indexdef``/``pg_get_constraintdef``), so they come back exactly as they were.
    """

    def __init__(self, connection, tables: list[str]) -> None:
        self.connection = connection
        self.tables = tables
        self.indexes: list[str] = []  # CREATE INDEX statements
        self.foreign_keys: list[tuple[str, str, str]] = []  # (table, name, definition)
        self.timings: list[tuple[str, float]] = []  # (statement, seconds)

    def __enter__(self) -> BulkLoad:
        quote = self.connection.ops.quote_name
        with self.connection.cursor() as cursor:
            cursor.execute(
                "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint"
                " WHERE contype = 'f' AND conrelid = ANY(%s::regclass[]) ORDER BY conrelid, conname",
                [self.tables],
            )
            self.foreign_keys = cursor.fetchall()
            cursor.execute(
                "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index"
                " WHERE indrelid = ANY(%s::regclass[]) AND NOT indisunique AND NOT indisprimary"
                " ORDER BY indrelid, indexrelid",
                [self.tables],
            )
            indexes = cursor.fetchall()
            for table, name, _definition in self.foreign_keys:
                cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {quote(name)}")
            for name, definition in indexes:
                cursor.execute(f"DROP INDEX {name}")
                self.indexes.append(definition)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            return  # the transaction rolls back, the drops with it
        quote = self.connection.ops.quote_name
        statements = [
            *self.indexes,
            *(
                f"ALTER TABLE {table} ADD CONSTRAINT {quote(name)} {definition}"
                for table, name, definition in self.foreign_keys
            ),
        ]
        with self.connection.cursor() as cursor:
            cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
            for statement in statements:
                started = time.monotonic()
                cursor.execute(statement)
                self.timings.append((statement, time.monotonic() - started))

    @property
    def seconds(self) -> float:
        return sum(seconds for _, seconds in self.timings)
