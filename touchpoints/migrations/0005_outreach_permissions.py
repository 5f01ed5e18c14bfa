"""Give the staff roles their outreach permissions (templates, rules, broadcasts, outbox, staff tasks)."""

from django.db import migrations

from customers.roles import MANAGER, MARKETING, SUPPORT, grant_permissions, revoke_permissions

# As granted then, under the touchpoints app label (the models moved to outreach later, with their grants).
OUTREACH_PERMISSIONS = {
    MANAGER: [
        "touchpoints.view_messagetemplate",
        "touchpoints.add_messagetemplate",
        "touchpoints.change_messagetemplate",
        "touchpoints.delete_messagetemplate",
        "touchpoints.view_followuprule",
        "touchpoints.add_followuprule",
        "touchpoints.change_followuprule",
        "touchpoints.delete_followuprule",
        "touchpoints.view_followup",
        "touchpoints.view_broadcast",
        "touchpoints.add_broadcast",
        "touchpoints.change_broadcast",
        "touchpoints.view_outboundmessage",
        "touchpoints.change_outboundmessage",
        "touchpoints.view_stafftask",
        "touchpoints.add_stafftask",
        "touchpoints.change_stafftask",
    ],
    MARKETING: [
        "touchpoints.view_messagetemplate",
        "touchpoints.add_messagetemplate",
        "touchpoints.change_messagetemplate",
        "touchpoints.delete_messagetemplate",
        "touchpoints.view_followuprule",
        "touchpoints.add_followuprule",
        "touchpoints.change_followuprule",
        "touchpoints.delete_followuprule",
        "touchpoints.view_followup",
        "touchpoints.view_broadcast",
        "touchpoints.add_broadcast",
        "touchpoints.change_broadcast",
        "touchpoints.view_outboundmessage",
    ],
    SUPPORT: [
        "touchpoints.view_stafftask",
        "touchpoints.change_stafftask",
        "touchpoints.view_outboundmessage",
        "touchpoints.view_followup",
    ],
}


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
