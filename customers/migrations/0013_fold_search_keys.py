"""Fold the stored search and sort keys (``customers.textfold``): widths by NFKC, hiragana as katakana.

Only the rows whose keys change are rewritten: on PostgreSQL those holding hiragana or text not in NFKC form are
found in one scan; elsewhere (the embedded SQLite demo) every row is read."""

from django.db import migrations

FIELDS = [
    "family_name",
    "given_name",
    "family_name_kana",
    "given_name_kana",
    "email",
    "phone",
    "company",
    "external_id",
    "name_sort",
    "search_text",
]
NEEDS_FOLDING = (
    "search_text ~ '[ぁ-ゖゝゞ]' OR search_text IS NOT NFKC NORMALIZED"
    " OR name_sort ~ '[ぁ-ゖゝゞ]' OR name_sort IS NOT NFKC NORMALIZED"
)


def forwards(apps, schema_editor):
    from customers.models import Customer as LiveCustomer  # the model's own rule for the keys

    Customer = apps.get_model("customers", "Customer")
    rows = Customer.objects.using(schema_editor.connection.alias).only(*FIELDS).order_by("pk")
    if schema_editor.connection.vendor == "postgresql":
        rows = rows.extra(where=[NEEDS_FOLDING])  # noqa: S610 - a constant
    batch = []
    for row in rows.iterator(chunk_size=2000):
        before = (row.name_sort, row.search_text)
        LiveCustomer.derive_fields(row)
        if (row.name_sort, row.search_text) != before:
            batch.append(row)
        if len(batch) >= 2000:
            Customer.objects.using(schema_editor.connection.alias).bulk_update(batch, ["name_sort", "search_text"])
            batch = []
    if batch:
        Customer.objects.using(schema_editor.connection.alias).bulk_update(batch, ["name_sort", "search_text"])


class Migration(migrations.Migration):
    dependencies = [("customers", "0012_customermerge_merged_index")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
