"""Let support and managers record a customer's contact preferences on their behalf (staff customer page)."""

from django.db import migrations

from customers.roles import PREFERENCE_PERMISSIONS, grant_permissions, revoke_permissions


def forwards(apps, schema_editor):
    grant_permissions(apps, PREFERENCE_PERMISSIONS)


def backwards(apps, schema_editor):
    revoke_permissions(apps, PREFERENCE_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [("customers", "0016_merge_contacts_and_preferences")]
    operations = [migrations.RunPython(forwards, backwards)]
