"""Give support and managers the till mode and the member cards' actions (send a link, reissue)."""

from django.db import migrations

from customers.roles import grant_permissions, revoke_permissions
from loyalty.roles import CARD_PERMISSIONS


def forwards(apps, schema_editor):
    grant_permissions(apps, CARD_PERMISSIONS)


def backwards(apps, schema_editor):
    revoke_permissions(apps, CARD_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [("loyalty", "0009_member_card"), ("customers", "0003_staff_roles")]
    operations = [migrations.RunPython(forwards, backwards)]
