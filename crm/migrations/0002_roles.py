"""Give the staff roles their dashboard and report permissions."""

from django.db import migrations

from customers.roles import MANAGER, MARKETING, SUPPORT, grant_permissions, revoke_permissions

# Frozen here: these are the permissions as they were when this migration ran (on crm's Report). They moved to
# the insights app with the model (crm.insights.roles); insights migration 0002 carries these grants across.
INSIGHTS_PERMISSIONS: dict[str, list[str]] = {
    MANAGER: [
        "crm.view_dashboard",
        "crm.view_customer_figures",
        "crm.view_service_figures",
        "crm.view_revenue",
        "crm.export_reports",
    ],
    SUPPORT: ["crm.view_dashboard", "crm.view_service_figures"],
    MARKETING: ["crm.view_dashboard", "crm.view_customer_figures"],
}


def forwards(apps, schema_editor):
    grant_permissions(apps, INSIGHTS_PERMISSIONS)


def backwards(apps, schema_editor):
    revoke_permissions(apps, INSIGHTS_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [("crm", "0001_initial"), ("customers", "0003_staff_roles")]
    operations = [migrations.RunPython(forwards, backwards)]
