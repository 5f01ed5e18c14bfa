"""Point django-celery-beat's stored periodic tasks at the outreach tasks' new paths (same schedule names);
a row left on an old path would have beat send a task no worker knows."""

from django.db import migrations

TASKS = [
    "message_send_task",
    "messages_send_task",
    "outbox_sweep_task",
    "followups_dispatch_task",
    "inactive_followups_schedule_task",
    "broadcasts_advance_task",
    "broadcast_prepare_task",
]


def _rename(apps, old_prefix: str, new_prefix: str) -> None:
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for task in TASKS:
        PeriodicTask.objects.filter(task=old_prefix + task).update(task=new_prefix + task)


def forwards(apps, schema_editor):
    _rename(apps, "touchpoints.tasks.", "touchpoints.outreach.tasks.")


def backwards(apps, schema_editor):
    _rename(apps, "touchpoints.outreach.tasks.", "touchpoints.tasks.")


class Migration(migrations.Migration):
    dependencies = [
        ("outreach", "0002_content_types"),
        ("django_celery_beat", "0001_initial"),
    ]
    operations = [migrations.RunPython(forwards, backwards)]
