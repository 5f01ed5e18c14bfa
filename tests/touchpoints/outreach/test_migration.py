"""A database migrated on the main branch before outreach became its own app migrates forward unchanged:
the same rows in the outreach tables, each group with the same permissions, no content type duplicated.

It names the old labels and task paths on purpose (outreach-rewrite: skip).
"""

from __future__ import annotations

import pytest
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from tests.factories import FollowUpRuleFactory, MessageTemplateFactory, UserFactory, consenting_customer
from touchpoints.outreach.models import OutboundMessage, Purpose, StaffTask

pytestmark = pytest.mark.django_db(transaction=True)

# The last migrations on main before the move (outreach did not exist).
MAIN = [
    ("touchpoints", "0009_service_message_permission"),
    ("feedback", "0006_reply_once"),
    ("loyalty", "0007_greeting_status_label"),
    ("outreach", None),
]
TABLES = [
    "touchpoints_messagetemplate",
    "touchpoints_followuprule",
    "touchpoints_followup",
    "touchpoints_broadcast",
    "touchpoints_outboundmessage",
    "touchpoints_stafftask",
]
MOVED = ["messagetemplate", "followuprule", "followup", "broadcast", "outboundmessage", "stafftask"]


def _migrate(targets) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    ContentType.objects.clear_cache()


_columns: dict[str, list[str]] = {}


def _rows() -> dict[str, list[tuple]]:
    """The tables' rows, in the columns they had on main (later migrations add columns: LINE's)."""
    with connection.cursor() as cursor:
        rows = {}
        for table in TABLES:
            if table not in _columns:
                cursor.execute(f"SELECT * FROM {table} LIMIT 0")  # noqa: S608 (names from the list above)
                _columns[table] = [connection.ops.quote_name(c.name) for c in cursor.description]
            cursor.execute(f"SELECT {', '.join(_columns[table])} FROM {table} ORDER BY id")  # noqa: S608
            rows[table] = cursor.fetchall()
    return rows


# Apps whose migrations came after the move (the audit trail): what they add is theirs, not the move's.
LATER_APPS = ("audit", "pghistory", "dataprotection")
# Outreach's models that came after the move (LINE): the same.
LATER_MODELS = [
    "lineuser",
    "linewebhookevent",
    "linelinkrequest",
    "linethrottle",
    "mailbox",
    "inboundmail",
    "inboundattachment",
    "deliveryreport",
    "bouncedaddress",
]
# Permissions of older apps granted by their later migrations (loyalty 0010: the till and the member cards).
LATER_PERMISSIONS = ("use_till", "manage_card")


def _later(queryset, prefix: str = ""):
    queryset = queryset.exclude(**{f"{prefix}app_label__in": LATER_APPS}).exclude(
        **{f"{prefix}app_label": "outreach", f"{prefix}model__in": LATER_MODELS}
    )
    return queryset.exclude(codename__in=LATER_PERMISSIONS) if prefix else queryset


def _grants() -> dict[str, set[str]]:
    """Each group's grants but the later apps'; a group holding only those (made by a later migration on a
    database a transactional test flushed) counts as absent."""
    grants = {
        group.name: {p.codename for p in _later(group.permissions.all(), "content_type__")}
        for group in Group.objects.all()
    }
    return {name: codenames for name, codenames in grants.items() if codenames}


def _insert_old(instance):
    """Write a model instance as main's schema has it: only the columns its table has at the migration state the
    test stands at (later migrations add columns: LINE's, body_format…), so neither today's model nor a factory
    may save it. Returns the instance, read back with those columns only."""
    model = type(instance)
    table = model._meta.db_table
    with connection.cursor() as cursor:
        present = {c.name for c in connection.introspection.get_table_description(cursor, table)}
        fields = [f for f in model._meta.concrete_fields if not f.primary_key and f.column in present]
        for field in fields:
            if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
                setattr(instance, field.attname, timezone.now())
        columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        cursor.execute(
            f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(fields))}) RETURNING id",  # noqa: S608
            [f.get_db_prep_save(getattr(instance, f.attname), connection) for f in fields],
        )
        pk = cursor.fetchone()[0]
    return model.objects.only(*(f.name for f in fields)).get(pk=pk)


def test_a_database_from_main_migrates_forward_with_the_same_rows_and_permissions():
    # Given a database at main's migrations, with outreach rows, grants, an admin log entry and beat's row
    _migrate(MAIN)
    old_types = ContentType.objects.filter(app_label="touchpoints", model__in=MOVED)
    assert old_types.count() == len(MOVED)
    assert not ContentType.objects.filter(app_label="outreach").exclude(model__in=LATER_MODELS).exists()
    _columns.clear()

    customer = consenting_customer()
    template = _insert_old(MessageTemplateFactory.build(purpose=Purpose.MARKETING))
    FollowUpRuleFactory(template=template)
    # What main's outbox wrote for an email and for a LINE message (a staff task then: LINE was only a label).
    _insert_old(
        OutboundMessage(
            key="migration-1",
            customer=customer,
            template=template,
            channel="email",
            purpose=Purpose.MARKETING,
            language="ja",
            to_address=customer.email,
            subject="Hello",
            body="Hi",
        )
    )
    line = _insert_old(
        OutboundMessage(
            key="migration-2",
            customer=customer,
            channel="line",
            purpose=Purpose.MARKETING,
            language="ja",
            subject="Hello",
            body="Hi",
            status=OutboundMessage.Status.SENT,
            sent_at=timezone.now(),
        )
    )
    _insert_old(StaffTask(customer=customer, title="Hello", channel="line", due_at=timezone.now(), message=line))

    role = Group.objects.create(name="Migration role")
    role.permissions.add(
        *Permission.objects.filter(
            content_type__in=old_types, codename__in=["view_outboundmessage", "change_stafftask"]
        ),
        Permission.objects.get(content_type__app_label="touchpoints", codename="send_service_message"),
        Permission.objects.get(content_type__app_label="touchpoints", codename="view_touchpoint"),
    )
    user = UserFactory()
    user.user_permissions.add(Permission.objects.get(content_type__app_label="touchpoints", codename="add_broadcast"))
    template_type = old_types.get(model="messagetemplate")
    LogEntry.objects.create(
        user=user, content_type=template_type, object_id=str(template.pk), object_repr="t", action_flag=ADDITION
    )
    every = IntervalSchedule.objects.create(every=10, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.create(name="old sweep", task="touchpoints.tasks.outbox_sweep_task", interval=every)

    rows, grants = _rows(), _grants()
    permissions = _later(Permission.objects.all(), "content_type__").count()
    content_types = _later(ContentType.objects.all()).count()
    type_ids = {t.model: t.pk for t in old_types}
    assert rows["touchpoints_outboundmessage"] and rows["touchpoints_stafftask"]

    # When it migrates forward
    _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    # Then nothing in the tables changed (columns added later come last), and the grants followed their content
    # types, renamed in place
    after = _rows()
    assert {
        table: [row[: len(rows[table][0])] for row in after[table]] if rows[table] else after[table] for table in TABLES
    } == rows
    assert _grants() == grants
    assert _later(Permission.objects.all(), "content_type__").count() == permissions
    assert _later(ContentType.objects.all()).count() == content_types
    moved = ContentType.objects.filter(model__in=MOVED, app_label="outreach")
    assert {t.model: t.pk for t in moved} == type_ids
    assert not ContentType.objects.filter(app_label="touchpoints", model__in=MOVED).exists()
    role_perms = {f"{p.content_type.app_label}.{p.codename}" for p in role.permissions.all()}
    assert role_perms == {
        "outreach.view_outboundmessage",
        "outreach.change_stafftask",
        "outreach.send_service_message",
        "touchpoints.view_touchpoint",
    }
    user = type(user).objects.get(pk=user.pk)
    assert user.has_perm("outreach.add_broadcast") and not user.has_perm("touchpoints.add_broadcast")
    assert LogEntry.objects.get().content_type.app_label == "outreach"
    assert PeriodicTask.objects.get(name="old sweep").task == "touchpoints.outreach.tasks.outbox_sweep_task"
