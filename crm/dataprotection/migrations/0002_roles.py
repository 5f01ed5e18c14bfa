"""Give managers the privacy requests (the groups come from customers' roles migration)."""

from django.db import migrations

from customers.roles import grant_permissions, revoke_permissions

# Frozen here: the grants as they were when this migration ran.
DATAPROTECTION_PERMISSIONS = {
    "Manager": [
        "dataprotection.view_datarequest",
        "dataprotection.add_datarequest",
        "dataprotection.erase_customer",
    ]
}


def forwards(apps, schema_editor):
    grant_permissions(apps, DATAPROTECTION_PERMISSIONS)


def backwards(apps, schema_editor):
    revoke_permissions(apps, DATAPROTECTION_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [("dataprotection", "0001_initial"), ("customers", "0003_staff_roles")]
    operations = [migrations.RunPython(forwards, backwards)]
