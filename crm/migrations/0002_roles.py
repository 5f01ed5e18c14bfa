"""Give the staff roles their dashboard and report permissions."""

from django.db import migrations

from crm.roles import INSIGHTS_PERMISSIONS
from customers.roles import grant_permissions, revoke_permissions


def forwards(apps, schema_editor):
    grant_permissions(apps, INSIGHTS_PERMISSIONS)


def backwards(apps, schema_editor):
    revoke_permissions(apps, INSIGHTS_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [("crm", "0001_initial"), ("customers", "0003_staff_roles")]
    operations = [migrations.RunPython(forwards, backwards)]
