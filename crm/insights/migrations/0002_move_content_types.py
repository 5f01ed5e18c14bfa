"""The moved models' content types go from app label "crm" to "insights", so their permissions and every group's
and user's grants follow them: ``crm.view_dashboard`` becomes ``insights.view_dashboard``, nothing is duplicated.

On a database where something created the insights content types already (another app's roles migration calls
``create_permissions`` for every app of its state), the crm rows are merged into them: each grant moves to the
permission of the same codename, then the old permission and content type go.
"""

from django.db import migrations

MODELS = [
    "report",
    "customerscore",
    "dailyrollup",
    "rollupedge",
    "cohortcell",
    "customerrollupstate",
    "customerlapse",
    "rollupdirty",
    "rollupwatermark",
    "ticketresponse",
]


def _move(apps, schema_editor, source: str, target: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    try:
        LogEntry = apps.get_model("admin", "LogEntry")
    except LookupError:
        LogEntry = None
    db = schema_editor.connection.alias
    for model in MODELS:
        old = ContentType.objects.using(db).filter(app_label=source, model=model).first()
        if old is None:
            continue
        new = ContentType.objects.using(db).filter(app_label=target, model=model).first()
        if new is None:
            old.app_label = target
            old.save(using=db, update_fields=["app_label"])
            continue
        for perm in Permission.objects.using(db).filter(content_type=old):
            twin = Permission.objects.using(db).filter(content_type=new, codename=perm.codename).first()
            if twin is None:
                perm.content_type = new
                perm.save(using=db, update_fields=["content_type"])
                continue
            for group in perm.group_set.all():
                group.permissions.add(twin)
            for user in perm.user_set.all():
                user.user_permissions.add(twin)
            perm.delete()
        if LogEntry is not None:
            LogEntry.objects.using(db).filter(content_type=old).update(content_type=new)
        old.delete()
    ContentType.objects.clear_cache()
    from django.contrib.contenttypes.models import ContentType as LiveContentType

    LiveContentType.objects.clear_cache()


def forwards(apps, schema_editor):
    _move(apps, schema_editor, "crm", "insights")


def backwards(apps, schema_editor):
    _move(apps, schema_editor, "insights", "crm")


class Migration(migrations.Migration):
    dependencies = [
        ("insights", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("admin", "0003_logentry_add_action_flag_choices"),
        # The roles migration that granted the report permissions on crm's Report.
        ("crm", "0002_roles"),
    ]
    operations = [migrations.RunPython(forwards, backwards)]
