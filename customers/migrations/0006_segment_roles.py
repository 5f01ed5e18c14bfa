"""Segments: marketing and managers build them; support uses them."""

from django.db import migrations

from customers.roles import SEGMENT_PERMISSIONS, grant_permissions, revoke_permissions


def forwards(apps, schema_editor):
    grant_permissions(apps, SEGMENT_PERMISSIONS)


def backwards(apps, schema_editor):
    revoke_permissions(apps, SEGMENT_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [("customers", "0005_segment")]
    operations = [migrations.RunPython(forwards, backwards)]
