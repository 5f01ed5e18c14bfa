"""The access log's array of customer ids: a PostgreSQL ``integer[]`` (GIN-indexed), and JSON text on SQLite so
that the embedded default keeps its access log too (read there without the index, see querysets.py)."""

from __future__ import annotations

import json

from django.contrib.postgres.fields import ArrayField


class CustomerIdsField(ArrayField):
    def get_db_prep_value(self, value, connection, prepared=False):
        if connection.vendor != "postgresql":
            return json.dumps(list(value or []))
        return super().get_db_prep_value(value, connection, prepared)

    def get_placeholder(self, value, compiler, connection):
        return "%s" if connection.vendor != "postgresql" else super().get_placeholder(value, compiler, connection)

    def from_db_value(self, value, expression, connection):
        if isinstance(value, str):
            return json.loads(value or "[]")
        return value
