"""Move the moved models' content types from the touchpoints label to outreach.

Renaming the ContentType rows keeps their ids, so the permissions, the groups' and users' grants and the
admin log follow without a copy. A content type that a permission migration already created under the
new label (it runs ``create_permissions`` for every app) is merged into the old one first.
"""

from django.db import migrations

MODELS = ["messagetemplate", "followuprule", "followup", "broadcast", "outboundmessage", "stafftask"]


def _move(apps, old_label: str, new_label: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    for model in MODELS:
        old = ContentType.objects.filter(app_label=old_label, model=model).first()
        if old is None:
            continue
        new = ContentType.objects.filter(app_label=new_label, model=model).first()
        if new is not None:
            # Keep the old rows (they hold the grants); move what was granted on the new ones onto them.
            for perm in Permission.objects.filter(content_type=new):
                kept = Permission.objects.filter(content_type=old, codename=perm.codename).first()
                if kept is None:
                    perm.content_type = old
                    perm.save(update_fields=["content_type"])
                    continue
                for group in perm.group_set.all():
                    group.permissions.add(kept)
                for user in perm.user_set.all():
                    user.user_permissions.add(kept)
                perm.delete()
            _move_log_entries(apps, new, old)
            new.delete()
        old.app_label = new_label
        old.save(update_fields=["app_label"])


def _move_log_entries(apps, source, target) -> None:
    try:
        LogEntry = apps.get_model("admin", "LogEntry")
    except LookupError:
        return
    LogEntry.objects.filter(content_type=source).update(content_type=target)


def forwards(apps, schema_editor):
    _move(apps, "touchpoints", "outreach")


def backwards(apps, schema_editor):
    _move(apps, "outreach", "touchpoints")


class Migration(migrations.Migration):
    dependencies = [
        ("outreach", "0001_initial"),
        # After the old state is gone, so no later permission migration recreates the old content types.
        ("touchpoints", "0010_outreach_moved_out"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]
    operations = [migrations.RunPython(forwards, backwards)]
