"""Give the staff roles their outreach permissions (templates, rules, broadcasts, outbox, staff tasks)."""

from django.db import migrations

from customers.roles import grant_permissions, revoke_permissions
from touchpoints.roles import OUTREACH_PERMISSIONS


def forwards(apps, schema_editor):
    grant_permissions(apps, OUTREACH_PERMISSIONS)


def backwards(apps, schema_editor):
    revoke_permissions(apps, OUTREACH_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [
        ("touchpoints", "0004_outreach"),
        ("customers", "0003_staff_roles"),
    ]
    operations = [migrations.RunPython(forwards, backwards)]
