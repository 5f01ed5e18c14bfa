"""The insights models now belong to the insights app (crm.insights, its migration 0001): drop them from crm's
state only. Their tables stay, under the same names."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0006_customer_lapses"),
        ("insights", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(model_name="customerscore", name="customer"),
                migrations.DeleteModel(name="CohortCell"),
                migrations.DeleteModel(name="CustomerLapse"),
                migrations.DeleteModel(name="CustomerRollupState"),
                migrations.DeleteModel(name="DailyRollup"),
                migrations.DeleteModel(name="RollupDirty"),
                migrations.DeleteModel(name="RollupEdge"),
                migrations.DeleteModel(name="RollupWatermark"),
                migrations.DeleteModel(name="TicketResponse"),
                migrations.DeleteModel(name="Report"),
                migrations.DeleteModel(name="CustomerScore"),
            ],
            database_operations=[],
        ),
    ]
