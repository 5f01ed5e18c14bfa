"""Give managers the audit trail (the groups come from customers' roles migration)."""

from django.db import migrations

from customers.roles import grant_permissions, revoke_permissions

# Frozen here: the grants as they were when this migration ran.
AUDIT_PERMISSIONS = {"Manager": ["audit.view_audit"]}


def forwards(apps, schema_editor):
    grant_permissions(apps, AUDIT_PERMISSIONS)


def backwards(apps, schema_editor):
    revoke_permissions(apps, AUDIT_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_access_log_append_only"), ("customers", "0003_staff_roles")]
    operations = [migrations.RunPython(forwards, backwards)]
