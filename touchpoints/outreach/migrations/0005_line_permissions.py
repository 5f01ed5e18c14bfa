"""Grant the LINE permissions to the staff roles (touchpoints/outreach/roles.py: LINE_PERMISSIONS)."""

from django.db import migrations

from customers.roles import grant_permissions, revoke_permissions
from touchpoints.outreach.roles import LINE_PERMISSIONS


def grant(apps, schema_editor):
    grant_permissions(apps, LINE_PERMISSIONS)


def revoke(apps, schema_editor):
    revoke_permissions(apps, LINE_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [("outreach", "0004_line_channel"), ("auth", "0012_alter_user_first_name_max_length")]

    operations = [migrations.RunPython(grant, revoke)]
