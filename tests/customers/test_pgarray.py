"""``pg_array``: the array literals the batch statements pass, read back by PostgreSQL as what they were built from."""

import datetime as dt
import zoneinfo

import pytest
from django.db import connection

from customers.pgarray import pg_array

pytestmark = pytest.mark.django_db

TOKYO = zoneinfo.ZoneInfo("Asia/Tokyo")


def _read_back(values: list, pg_type: str) -> list:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT %s::{pg_type}[]", [pg_array(values)])
        return cursor.fetchone()[0]


@pytest.mark.parametrize(
    ("values", "pg_type"),
    [
        ([], "bigint"),
        ([1, 2, 9_007_199_254_740_993], "bigint"),
        ([True, False, None], "boolean"),
        (["awareness", "", "NULL", "null", "a b", 'say "hi"', "back\\slash", "{,}", "日本語", None], "varchar"),
        (
            [
                dt.datetime(2024, 2, 29, 23, 59, 59, 999_999, tzinfo=TOKYO),
                dt.datetime(1999, 12, 31, 15, 0, tzinfo=dt.UTC),
                None,
            ],
            "timestamptz",
        ),
    ],
)
def test_values_survive_the_round_trip(values, pg_type):
    assert _read_back(values, pg_type) == values


def test_an_array_of_ids_is_one_join():
    assert pg_array(range(3)) == "{0,1,2}"
    assert pg_array([]) == "{}"


def test_what_it_cannot_write_exactly_is_refused():
    with pytest.raises(ValueError, match="naive"):
        pg_array([dt.datetime(2026, 1, 1)])  # noqa: DTZ001 - the point of the test
    with pytest.raises(TypeError):
        pg_array([1.5])
