"""Give the staff roles their feedback permissions (the groups come from customers' roles migration)."""

from django.db import migrations

from customers.roles import grant_permissions, revoke_permissions
from feedback.roles import FEEDBACK_PERMISSIONS


def forwards(apps, schema_editor):
    grant_permissions(apps, FEEDBACK_PERMISSIONS)


def backwards(apps, schema_editor):
    revoke_permissions(apps, FEEDBACK_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [
        ("feedback", "0002_seed_sla_calendar"),
        ("customers", "0003_staff_roles"),
    ]
    operations = [migrations.RunPython(forwards, backwards)]
