"""The insights tasks moved from crm.tasks to crm.insights.tasks: rename them in the beat scheduler's rows too
(django_celery_beat keeps the schedule in the database under the schedule's keys, which stay the same)."""

from django.db import migrations

RENAMED = {
    "crm.tasks.rollups_refresh_task": "crm.insights.tasks.rollups_refresh_task",
    "crm.tasks.rollups_rebuild_task": "crm.insights.tasks.rollups_rebuild_task",
    "crm.tasks.scores_refresh_task": "crm.insights.tasks.scores_refresh_task",
}


def _rename(apps, mapping: dict[str, str]) -> None:
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for old, new in mapping.items():
        PeriodicTask.objects.filter(task=old).update(task=new)


def forwards(apps, schema_editor):
    _rename(apps, RENAMED)


def backwards(apps, schema_editor):
    _rename(apps, {new: old for old, new in RENAMED.items()})


class Migration(migrations.Migration):
    dependencies = [
        ("insights", "0002_move_content_types"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(forwards, backwards)]
