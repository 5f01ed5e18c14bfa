import django.db.models.expressions
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0002_roles"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="customerscore",
            index=models.Index(
                condition=models.Q(("segment__in", ["cant_lose", "at_risk", "about_to_sleep"]))
                | models.Q(
                    ("r_score__lt", django.db.models.expressions.F("previous_r_score")),
                    ("segment__in", ["champions", "loyal"]),
                ),
                fields=["-monetary", "-customer"],
                name="score_contact_idx",
            ),
        ),
    ]
