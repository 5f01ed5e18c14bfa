"""Give the staff roles their journey permissions (the groups come from customers' roles migration)."""

from django.db import migrations

from customers.roles import grant_permissions, revoke_permissions
from touchpoints.roles import JOURNEY_PERMISSIONS


def forwards(apps, schema_editor):
    grant_permissions(apps, JOURNEY_PERMISSIONS)


def backwards(apps, schema_editor):
    revoke_permissions(apps, JOURNEY_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [
        ("touchpoints", "0002_seed_touchpoint_types"),
        ("customers", "0003_staff_roles"),
    ]
    operations = [migrations.RunPython(forwards, backwards)]
