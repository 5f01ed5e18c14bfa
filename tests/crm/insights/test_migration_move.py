"""A database migrated by today's main (the insights models still in crm) migrates forward to the insights app
without a data change: the same rows in the same tables, the same permissions for every group and user, by
codename, now under the insights label, and the beat scheduler's rows naming the new task paths."""

from __future__ import annotations

import datetime as dt
import importlib
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from customers.roles import grant_permissions
from tests.crm.insights.test_roles_permissions import MOVED_MODELS, RECORDED
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db(transaction=True)

# crm's last migration on main; the insights app did not exist there.
MAIN_CRM = ("crm", "0006_customer_lapses")
# The task's path on main (built so that the rewrite of old names leaves it alone).
OLD_TASK = ".".join(["crm", "tasks", "rollups_refresh_task"])


def _main_targets(executor: MigrationExecutor) -> list[tuple[str, str | None]]:
    targets = [node for node in executor.loader.graph.leaf_nodes() if node[0] not in {"crm", "insights"}]
    return [*targets, MAIN_CRM, ("insights", None)]


def _grants(apps, app_label: str) -> dict[str, list[str]]:
    Group = apps.get_model("auth", "Group")
    return {
        group.name: sorted(
            group.permissions.filter(content_type__app_label=app_label).values_list("codename", flat=True)
        )
        for group in Group.objects.order_by("name")
    }


def _migrate(targets) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor


@pytest.fixture
def at_main():
    """The database as main's migrations leave it, with the roles granted as main's crm 0002 granted them (an
    earlier transactional test may have flushed the groups); migrated to the latest state again afterwards."""
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    _migrate(latest)  # from wherever an earlier test left it, so that going back runs every reverse step
    executor = MigrationExecutor(connection)
    executor = _migrate(_main_targets(executor))
    old = executor.loader.project_state(_main_targets(executor)[:-1]).apps
    grant_permissions(old, importlib.import_module("crm.migrations.0002_roles").INSIGHTS_PERMISSIONS)
    try:
        yield old, latest
    finally:
        _migrate(latest)


def test_a_database_of_main_migrates_to_the_insights_app_without_a_data_change(at_main):
    old, latest = at_main

    # given: main's state, with insights rows, the roles' grants and a user's own grant under crm
    assert "crm_dailyrollup" in connection.introspection.table_names()
    now = timezone.now()
    customer = CustomerFactory()  # customers is at its latest state already
    old.get_model("crm", "DailyRollup").objects.create(
        day=dt.date(2026, 6, 1), orders=3, sales=Decimal("19000.00"), refreshed_at=now
    )
    old.get_model("crm", "CustomerScore").objects.create(
        customer_id=customer.pk,
        last_purchase_at=now,
        recency_days=3,
        frequency=2,
        monetary=Decimal("7000.00"),
        r_score=5,
        f_score=4,
        m_score=3,
        segment="champions",
        segment_since=now,
        scored_at=now,
    )
    old.get_model("crm", "RollupEdge").objects.create(
        kind="activity", from_day=dt.date(2026, 6, 1), to_day=dt.date(2026, 6, 2), n=4
    )
    old.get_model("crm", "CohortCell").objects.create(cohort_month=dt.date(2026, 1, 1), month_offset=5, customers=1)
    old.get_model("crm", "CustomerLapse").objects.create(customer_id=customer.pk, last_day=dt.date(2026, 5, 20))
    old.get_model("crm", "RollupWatermark").objects.create(refreshed_at=now, lapse_days=30, tiers=[["Gold", 1]])
    old.get_model("crm", "TicketResponse").objects.create(ticket_id=7, day=dt.date(2026, 6, 3), seconds=7200.0)
    user = old.get_model("auth", "User").objects.create(username="analyst")
    export = old.get_model("auth", "Permission").objects.get(content_type__app_label="crm", codename="export_reports")
    user.user_permissions.add(export)
    old.get_model("django_celery_beat", "IntervalSchedule").objects.create(every=5, period="minutes")
    old.get_model("django_celery_beat", "PeriodicTask").objects.create(
        name="crm: refresh the insights rollups",
        task=OLD_TASK,
        interval=old.get_model("django_celery_beat", "IntervalSchedule").objects.get(),
    )
    before = _grants(old, "crm")
    permission_count = old.get_model("auth", "Permission").objects.count()
    assert before == {role: [perm.split(".")[1] for perm in perms] for role, perms in RECORDED.items()}

    # when: migrating forward to the latest state
    executor = _migrate(latest)
    new = executor.loader.project_state(latest).apps

    # then: the same rows, read through the insights models from the same tables
    from crm.insights.models import (
        CohortCell,
        CustomerLapse,
        CustomerScore,
        DailyRollup,
        RollupEdge,
        RollupWatermark,
        TicketResponse,
    )

    assert DailyRollup._meta.db_table == "crm_dailyrollup"
    rollup = DailyRollup.objects.get()
    assert (rollup.day, rollup.orders, rollup.sales) == (dt.date(2026, 6, 1), 3, Decimal("19000.00"))
    assert CustomerScore.objects.get().customer_id == customer.pk
    assert CustomerScore.objects.get().rfm == "543"
    assert RollupEdge.objects.get().n == 4
    assert CohortCell.objects.get().customers == 1
    assert CustomerLapse.objects.get().last_day == dt.date(2026, 5, 20)
    assert RollupWatermark.objects.get().tiers == [["Gold", 1]]
    assert TicketResponse.objects.get().seconds == 7200.0
    # the same grants by codename, under the insights label, nothing added and nothing left under crm
    assert _grants(new, "insights") == before
    assert _grants(new, "crm") == {role: [] for role in before}
    Permission = new.get_model("auth", "Permission")
    assert Permission.objects.count() == permission_count
    assert not Permission.objects.filter(content_type__app_label="crm", content_type__model__in=MOVED_MODELS).exists()
    assert list(
        new.get_model("auth", "User")
        .objects.get(username="analyst")
        .user_permissions.values_list("content_type__app_label", "codename")
    ) == [("insights", "export_reports")]
    ContentType = new.get_model("contenttypes", "ContentType")
    assert not ContentType.objects.filter(app_label="crm", model__in=MOVED_MODELS).exists()
    assert ContentType.objects.filter(app_label="insights", model__in=MOVED_MODELS).count() == len(MOVED_MODELS)
    # the beat row keeps its name and runs the task at its new path
    task = new.get_model("django_celery_beat", "PeriodicTask").objects.get(name="crm: refresh the insights rollups")
    assert task.task == "crm.insights.tasks.rollups_refresh_task"


def test_grants_merge_into_insights_permissions_created_before_the_move(at_main):
    # given: main's state, and the insights content type and permission created early (another app's roles
    # migration runs create_permissions for every app of its state between insights 0001 and 0002)
    old, latest = at_main
    ContentType = old.get_model("contenttypes", "ContentType")
    Permission = old.get_model("auth", "Permission")
    early = ContentType.objects.create(app_label="insights", model="report")
    Permission.objects.create(content_type=early, codename="view_dashboard", name="Can see the dashboard")
    before = _grants(old, "crm")

    # when
    executor = _migrate(latest)
    new = executor.loader.project_state(latest).apps

    # then: one permission per codename, every grant kept
    assert _grants(new, "insights") == before
    Permission = new.get_model("auth", "Permission")
    assert Permission.objects.filter(codename="view_dashboard").count() == 1
    assert new.get_model("contenttypes", "ContentType").objects.filter(model="report").count() == 1
