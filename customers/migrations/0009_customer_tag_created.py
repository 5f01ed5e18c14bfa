"""Tags on customers get an explicit through model carrying a copy of the customer's created_at.

The table is the one Django created for the M2M (customers_customer_tags): the model is declared in
the migration state only, then one column, its index and the triggers that keep the copy are added.
"""

import django.db.models.deletion
from django.db import migrations, models

PG_CREATE = [
    """
    CREATE OR REPLACE FUNCTION customers_customertag_fill() RETURNS trigger AS $$
    BEGIN
        IF NEW.customer_created_at IS NULL THEN
            SELECT created_at INTO NEW.customer_created_at FROM customers_customer WHERE id = NEW.customer_id;
        END IF;
        RETURN NEW;
    END $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER customers_customertag_fill BEFORE INSERT ON customers_customer_tags
    FOR EACH ROW EXECUTE FUNCTION customers_customertag_fill()
    """,
    """
    CREATE OR REPLACE FUNCTION customers_customer_created_sync() RETURNS trigger AS $$
    BEGIN
        UPDATE customers_customer_tags SET customer_created_at = NEW.created_at WHERE customer_id = NEW.id;
        RETURN NULL;
    END $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER customers_customer_created_sync AFTER UPDATE OF created_at ON customers_customer
    FOR EACH ROW WHEN (OLD.created_at IS DISTINCT FROM NEW.created_at)
    EXECUTE FUNCTION customers_customer_created_sync()
    """,
]
PG_DROP = [
    "DROP TRIGGER IF EXISTS customers_customer_created_sync ON customers_customer",
    "DROP FUNCTION IF EXISTS customers_customer_created_sync()",
    "DROP TRIGGER IF EXISTS customers_customertag_fill ON customers_customer_tags",
    "DROP FUNCTION IF EXISTS customers_customertag_fill()",
]
SQLITE_CREATE = [
    """
    CREATE TRIGGER customers_customertag_fill AFTER INSERT ON customers_customer_tags
    WHEN NEW.customer_created_at IS NULL
    BEGIN
        UPDATE customers_customer_tags
        SET customer_created_at = (SELECT created_at FROM customers_customer WHERE id = NEW.customer_id)
        WHERE id = NEW.id;
    END
    """,
    """
    CREATE TRIGGER customers_customer_created_sync AFTER UPDATE OF created_at ON customers_customer
    BEGIN
        UPDATE customers_customer_tags SET customer_created_at = NEW.created_at WHERE customer_id = NEW.id;
    END
    """,
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS customers_customer_created_sync",
    "DROP TRIGGER IF EXISTS customers_customertag_fill",
]
BACKFILL = (
    "UPDATE customers_customer_tags SET customer_created_at = "
    "(SELECT created_at FROM customers_customer WHERE customers_customer.id = customers_customer_tags.customer_id)"
)


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    statements = {"postgresql": PG_CREATE, "sqlite": SQLITE_CREATE}.get(vendor, [])
    schema_editor.execute(BACKFILL)
    for sql in statements:
        schema_editor.execute(sql)


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for sql in {"postgresql": PG_DROP, "sqlite": SQLITE_DROP}.get(vendor, []):
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("customers", "0008_owner_single_index")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="CustomerTag",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "customer",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="tag_links",
                                to="customers.customer",
                            ),
                        ),
                        (
                            "tag",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="customer_links",
                                to="customers.tag",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "customer tag",
                        "verbose_name_plural": "customer tags",
                        "db_table": "customers_customer_tags",
                        "unique_together": {("customer", "tag")},
                    },
                ),
                migrations.AlterField(
                    model_name="customer",
                    name="tags",
                    field=models.ManyToManyField(
                        blank=True,
                        related_name="customers",
                        through="customers.CustomerTag",
                        to="customers.tag",
                        verbose_name="tags",
                    ),
                ),
            ],
            database_operations=[],
        ),
        migrations.AddField(
            model_name="customertag",
            name="customer_created_at",
            field=models.DateTimeField(editable=False, null=True),
        ),
        migrations.RunPython(forwards, backwards),
        migrations.AddIndex(
            model_name="customertag",
            index=models.Index(fields=["tag", "-customer_created_at", "-customer"], name="customertag_tag_created_idx"),
        ),
    ]
