"""Create the Manager, Support and Marketing groups with their customers permissions."""

from django.db import migrations

from customers.roles import CUSTOMERS_PERMISSIONS, grant_permissions, revoke_permissions


def forwards(apps, schema_editor):
    grant_permissions(apps, CUSTOMERS_PERMISSIONS)


def backwards(apps, schema_editor):
    revoke_permissions(apps, CUSTOMERS_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0002_search_trigram_index"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(forwards, backwards)]
