"""PostgreSQL array parameters, written as array literals.

psycopg's list dumper checks every element of a list with regular expressions, in Python: for the dozen arrays of
a 1,000-touchpoint batch (ids, datetimes, stages) that was a third of the batch's Python time. ``pg_array`` writes
the literal in one join; the statement casts it (``%s::bigint[]``), as it did the list.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable


def _element(value: object) -> str:
    if value is None:
        return "NULL"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime in an array of timestamps")
        return value.isoformat()
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    raise TypeError(f"no array literal for {type(value).__name__}")


def pg_array(values: Iterable[object]) -> str:
    """The array literal of ``values`` (ints, aware datetimes, strings, booleans, None), for a parameter the
    statement casts to its array type."""
    values = list(values)
    if values and all(type(v) is int for v in values):  # the common cases: ids ...
        return "{" + ",".join(map(str, values)) + "}"
    if values and all(type(v) is dt.datetime and v.tzinfo is not None for v in values):  # ... and moments
        return "{" + ",".join(v.isoformat() for v in values) + "}"
    return "{" + ",".join(map(_element, values)) + "}"
