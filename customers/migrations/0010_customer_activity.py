"""A customer's last activity moves from the customer row to a narrow table of its own (``CustomerActivity``).

Recording a touchpoint moved ``customers_customer.last_activity_at`` forward, which rewrote the customer row
and each of its seventeen indexes: at a thousand touchpoints a second that was most of the work. The new table
holds one row per customer (its key and the time) with one index. The rows are copied over, then a trigger
creates the row of every new customer, whatever writes it (the ORM, the importer's COPY, the seeder): at the
customer's creation time, unless the writer put a row there first (the seeder and the importer do, in the
same transaction: the foreign key is checked at commit).
"""

import django.db.models.deletion
from django.db import migrations, models

PG_CREATE = [
    """
    CREATE OR REPLACE FUNCTION customers_customer_activity_create() RETURNS trigger AS $$
    BEGIN
        INSERT INTO customers_customeractivity (customer_id, last_activity_at)
        SELECT id, created_at FROM new_customers
        ON CONFLICT (customer_id) DO NOTHING;
        RETURN NULL;
    END $$ LANGUAGE plpgsql
    """,
    # Once per statement, over the statement's new rows: a COPY of a million customers runs it once.
    """
    CREATE TRIGGER customers_customer_activity_create AFTER INSERT ON customers_customer
    REFERENCING NEW TABLE AS new_customers
    FOR EACH STATEMENT EXECUTE FUNCTION customers_customer_activity_create()
    """,
]
PG_DROP = [
    "DROP TRIGGER IF EXISTS customers_customer_activity_create ON customers_customer",
    "DROP FUNCTION IF EXISTS customers_customer_activity_create()",
]
SQLITE_CREATE = [
    """
    CREATE TRIGGER customers_customer_activity_create AFTER INSERT ON customers_customer
    BEGIN
        INSERT OR IGNORE INTO customers_customeractivity (customer_id, last_activity_at)
        VALUES (NEW.id, NEW.created_at);
    END
    """,
]
SQLITE_DROP = ["DROP TRIGGER IF EXISTS customers_customer_activity_create"]
COPY_ROWS = (
    "INSERT INTO customers_customeractivity (customer_id, last_activity_at)"
    " SELECT id, COALESCE(last_activity_at, created_at) FROM customers_customer"
)
COPY_BACK = (
    "UPDATE customers_customer SET last_activity_at = (SELECT a.last_activity_at FROM customers_customeractivity a"
    " WHERE a.customer_id = customers_customer.id) WHERE id IN (SELECT customer_id FROM customers_customeractivity)"
)


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    schema_editor.execute(COPY_ROWS)
    for sql in {"postgresql": PG_CREATE, "sqlite": SQLITE_CREATE}.get(vendor, []):
        schema_editor.execute(sql)


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for sql in {"postgresql": PG_DROP, "sqlite": SQLITE_DROP}.get(vendor, []):
        schema_editor.execute(sql)
    schema_editor.execute(COPY_BACK)


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0009_customer_tag_created"),
    ]

    operations = [
        migrations.CreateModel(
            name="CustomerActivity",
            fields=[
                (
                    "customer",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="activity",
                        serialize=False,
                        to="customers.customer",
                        verbose_name="customer",
                    ),
                ),
                ("last_activity_at", models.DateTimeField(verbose_name="last activity")),
            ],
            options={
                "verbose_name": "customer activity",
                "verbose_name_plural": "customer activity",
            },
        ),
        # Reversed, the column comes back (filled from the table by ``backwards``) before the rows go.
        migrations.RunPython(forwards, backwards),
        migrations.AddIndex(
            model_name="customeractivity",
            index=models.Index(fields=["-last_activity_at", "-customer"], name="customer_activity_idx"),
        ),
        migrations.RemoveIndex(
            model_name="customer",
            name="customer_last_activity_idx",
        ),
        migrations.RemoveField(
            model_name="customer",
            name="last_activity_at",
        ),
    ]
