"""Give the staff roles their loyalty permissions (the groups come from customers' roles migration)."""

from django.db import migrations

from customers.roles import grant_permissions, revoke_permissions
from loyalty.roles import LOYALTY_PERMISSIONS


def forwards(apps, schema_editor):
    grant_permissions(apps, LOYALTY_PERMISSIONS)


def backwards(apps, schema_editor):
    revoke_permissions(apps, LOYALTY_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [("loyalty", "0003_customer_birthday_index"), ("customers", "0003_staff_roles")]
    operations = [migrations.RunPython(forwards, backwards)]
