"""Today's birthdays without a scan: an index on the month and day of ``customers_customer.birth_date``.

The daily milestone job asks ``birth_date__month=M AND birth_date__day IN (…)``, which Django writes as
``EXTRACT(MONTH FROM birth_date) = M AND EXTRACT(DAY FROM birth_date) IN (…)``: this expression index answers
it (about 1/365 of the customers) instead of reading all of them, from the index alone (it includes the id and the date: an index-only scan). It lives on the customers table, which the
loyalty app does not own, because the birth date is there and stays the single source of truth (imports
and the API write it in bulk, so a copy kept elsewhere would go stale). PostgreSQL only: the embedded SQLite
default is small enough to scan.
"""

from django.db import migrations

CREATE = """
CREATE INDEX IF NOT EXISTS loyalty_customer_birthday_idx ON customers_customer
    ((EXTRACT(MONTH FROM birth_date)), (EXTRACT(DAY FROM birth_date))) INCLUDE (id, birth_date) WHERE birth_date IS NOT NULL
"""
DROP = "DROP INDEX IF EXISTS loyalty_customer_birthday_idx"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("loyalty", "0002_ledger_append_only"), ("customers", "0006_segment_roles")]
    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
