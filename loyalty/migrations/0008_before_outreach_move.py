"""No change: orders this app's migrations that read touchpoints' MessageTemplate (0005) before the touchpoints
app forgets it (its models moved to outreach), so the touchpoints migration never names this app."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("loyalty", "0007_greeting_status_label")]
    run_before = [("touchpoints", "0010_outreach_moved_out")]
    operations = []
