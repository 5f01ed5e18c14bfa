"""Drop customer_birth_name_idx (birth_date, family_name, given_name): no query reads it. The duplicate finder's
"same name and birth date" rule groups by an expression (lower-case names joined with the date) that this index
cannot give, and reads the table (EXPLAIN at 100,000 customers: a parallel sequential scan); birthdays are found
through loyalty_customer_birthday_idx. Every insert and update of a customer (an import of 100,000 rows) kept it."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("customers", "0018_importbatch_content_lz4")]

    operations = [migrations.RemoveIndex(model_name="customer", name="customer_birth_name_idx")]
