"""Point the outbound foreign keys at outreach.OutboundMessage (state only: the table did not change)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("feedback", "0006_reply_once"),
        ("outreach", "0001_initial"),
    ]
    # Before touchpoints forgets the model, so its own migration never has to name this app.
    run_before = [("touchpoints", "0010_outreach_moved_out")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="survey",
                    name="outbound",
                    field=models.ForeignKey(
                        blank=True,
                        editable=False,
                        help_text="The outbox row of the invitation: queued, sent, or skipped and why.",
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="outreach.outboundmessage",
                        verbose_name="invitation",
                    ),
                ),
                migrations.AlterField(
                    model_name="ticketmessage",
                    name="outbound",
                    field=models.ForeignKey(
                        blank=True,
                        editable=False,
                        help_text="The outbox row of a public reply: queued, sent, or skipped and why.",
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="outreach.outboundmessage",
                        verbose_name="mail",
                    ),
                ),
            ],
            database_operations=[],
        ),
    ]
