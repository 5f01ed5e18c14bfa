"""The change history: every tracked change records before → after and who made it, however it was written."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from celery import shared_task
from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test import Client
from django.urls import reverse

from crm.audit.context import history_context
from crm.audit.history import customer_history
from crm.audit.models import CustomerEvent, GroupPermissionEvent, LedgerAdjustEvent, UserEvent, UserGroupEvent
from customers import services as customer_services
from customers.models import Customer
from loyalty.services import points_adjust
from tests.factories import CustomerFactory, TagFactory, UserFactory, api_key_create, member_join

pytestmark = pytest.mark.django_db


def last_update(customer_id: int) -> tuple[CustomerEvent, CustomerEvent]:
    events = CustomerEvent.objects.filter(pgh_obj_id=customer_id).order_by("-pgh_id")
    after = events.filter(pgh_label="update").first()
    before = events.filter(pgh_label="before", pgh_id__lt=after.pgh_id).first()
    return before, after


def test_a_service_write_records_before_after_and_who(manager):
    # given
    customer = CustomerFactory(family_name="Sato", email="sato@example.com")

    # when: a service write inside a context (what the middleware opens for a request)
    with history_context(user=manager.pk, method="POST", path="/customers/1/edit/"):
        customer_services.customer_update(customer=customer, data={"family_name": "Suzuki"}, by=manager)

    # then
    before, after = last_update(customer.pk)
    assert (before.family_name, after.family_name) == ("Sato", "Suzuki")
    assert after.pgh_context.metadata["user"] == manager.pk
    assert after.pgh_context.metadata["path"] == "/customers/1/edit/"


def test_a_bulk_update_cannot_slip_past():
    # given
    first, second = CustomerFactory(marketing_consent=True), CustomerFactory(marketing_consent=True)

    # when: a queryset update (no save(), no signal)
    Customer.objects.filter(pk__in=[first.pk, second.pk]).update(marketing_consent=False)

    # then: each row has its before and after
    for customer in (first, second):
        before, after = last_update(customer.pk)
        assert (before.marketing_consent, after.marketing_consent) == (True, False)
        assert after.pgh_context_id is None  # no request, no task: said as "System (no request)" on the page


def test_the_edit_page_records_who_and_the_path_without_its_query_string(manager_client, manager):
    # given
    customer = CustomerFactory(family_name="Sato", given_name="Hanako", email="hanako@example.com")
    data = {"family_name": "Sato", "given_name": "Hanako", "email": "hanako@example.com", "phone": "+81312345678"}
    data |= {"country": "JP", "preferred_channel": "email", "preferred_language": "ja", "source": "other"}

    # when
    response = manager_client.post(reverse("customers:update", args=[customer.pk]) + "?x=hanako", data)

    # then
    assert response.status_code == 302, response.content.decode()[:2000]
    before, after = last_update(customer.pk)
    assert (before.phone, after.phone) == ("", "+81312345678")
    metadata = after.pgh_context.metadata
    assert metadata["user"] == manager.pk
    assert metadata["method"] == "POST"
    assert metadata["path"] == reverse("customers:update", args=[customer.pk])


def test_an_api_write_records_the_api_key():
    # given
    key, raw = api_key_create()
    api = Client(headers={"Authorization": f"Bearer {raw}"})
    CustomerFactory(external_id="POS-1", family_name="Yamada", given_name="")

    # when
    response = api.post(
        reverse("api:customer_upsert"), {"external_id": "POS-1", "given_name": "Taro"}, content_type="application/json"
    )

    # then
    assert response.status_code == 200
    customer = Customer.objects.get(external_id="POS-1")
    before, after = last_update(customer.pk)
    assert (before.given_name, after.given_name) == ("", "Taro")
    assert after.pgh_context.metadata["api_key"] == key.pk


def test_an_admin_change_by_a_superuser_records_roles_and_permissions(client):
    # given
    root = UserFactory(username="root", is_superuser=True)
    clerk = UserFactory(username="clerk")
    client.force_login(root)
    manager_group = Group.objects.get(name="Manager")

    # when: the superuser makes the clerk a manager and deactivates them in the admin
    data = {"username": "clerk", "is_staff": "on", "groups": [manager_group.pk]}
    data |= {"date_joined_0": "2026-01-01", "date_joined_1": "00:00:00", "initial-date_joined_0": "2026-01-01"}
    data |= {"initial-date_joined_1": "00:00:00"}
    response = client.post(reverse("admin:auth_user_change", args=[clerk.pk]), data)

    # then
    assert response.status_code == 302, response.content.decode()[:3000]
    deactivated = UserEvent.objects.filter(pgh_obj_id=clerk.pk, pgh_label="update").latest("pgh_id")
    assert deactivated.is_active is False
    assert deactivated.pgh_context.metadata["user"] == root.pk
    joined = UserGroupEvent.objects.get(user_id=clerk.pk, group_id=manager_group.pk, pgh_label="insert")
    assert joined.pgh_context.metadata["user"] == root.pk

    # and: a group's permissions are tracked too
    manager_group.permissions.remove(Permission.objects.get(codename="view_audit"))
    assert GroupPermissionEvent.objects.filter(group_id=manager_group.pk, pgh_label="delete").exists()


def test_a_points_adjustment_records_who(manager):
    # given
    membership = member_join()

    # when
    with history_context(user=manager.pk):
        points_adjust(membership=membership, points=50, reason="Apology", key="adj-1", by=manager)

    # then
    event = LedgerAdjustEvent.objects.get(membership_id=membership.pk)
    assert (event.points, event.reason, event.pgh_context.metadata["user"]) == (50, "Apology", manager.pk)


def test_customer_history_reads_in_the_readers_language(manager):
    # given
    customer = CustomerFactory(family_name="Sato", marketing_consent=False)
    tag = TagFactory(name="VIP")
    with history_context(user=manager.pk):
        customer_services.customer_update(customer=customer, data={"family_name": "Suzuki"}, tags=[tag], by=manager)
        customer_services.note_create(customer=customer, body="Called back", author=manager)

    # when
    changes = customer_history(customer)

    # then
    profile = next(c for c in changes if c.what == "Profile" and c.action == "changed")
    assert ("family name", "Sato", "Suzuki") in profile.fields
    assert profile.who["username"] == manager.username
    assert any(c.what == "Tag" and ("tag", "", "VIP") in c.fields for c in changes)
    assert any(c.what == "Note" and c.action == "created" for c in changes)


@shared_task(name="tests.audit.rename_task")
def rename_task(customer_id: int) -> None:
    Customer.objects.filter(pk=customer_id).update(family_name="Renamed")


def test_a_celery_task_records_its_name():
    # given
    customer = CustomerFactory(family_name="Sato")

    # when: the task runs through Celery's tracer (its prerun and postrun signals), twice
    rename_task.apply(args=[customer.pk])
    rename_task.apply(args=[customer.pk])

    # then: one change (the second run changed nothing), carrying the task's name
    updates = CustomerEvent.objects.filter(pgh_obj_id=customer.pk, pgh_label="update")
    assert [e.pgh_context.metadata for e in updates] == [{"task": "tests.audit.rename_task"}]


def test_a_management_command_records_its_name(transactional_db):
    # given: a customer committed where a second process sees it
    customer = CustomerFactory(family_name="Sato")
    database = connection.settings_dict
    url = (
        f"postgres://{database['USER']}@{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}/{database['NAME']}"
    )
    script = f"from customers.models import Customer; Customer.objects.filter(pk={customer.pk}).update(family_name='X')"

    # when: manage.py shell changes it
    done = subprocess.run(  # noqa: S603 - our own manage.py
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=settings.BASE_DIR,
        env={**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "tests.settings"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    # then
    assert done.returncode == 0, done.stderr[-2000:]
    update = CustomerEvent.objects.get(pgh_obj_id=customer.pk, pgh_label="update")
    assert (update.family_name, update.pgh_context.metadata) == ("X", {"command": "shell"})


def test_a_csv_import_records_each_new_and_changed_customer_once_with_who(manager):
    # given: one customer the file updates (a name and a tag), one it leaves as it is
    from customers.importing import import_batch_apply, import_batch_create

    changed = CustomerFactory(external_id="E-1", family_name="Sato", email="e1@example.com")
    same = CustomerFactory(external_id="E-2", family_name="Ito", email="e2@example.com")
    tag = TagFactory(name="VIP")
    content = (
        b"external_id,family_name,email,tags\n"
        b"E-1,Suzuki,e1@example.com,VIP\n"
        b"E-2,Ito,e2@example.com,\n"
        b"E-3,Tanaka,e3@example.com,VIP\n"
        b"E-4,Kato,e4@example.com,\n"
    )

    # when: imported in a request's context (the history is written per statement, not per row)
    with history_context(user=manager.pk, method="POST", path="/customers/import/"):
        previewed = import_batch_create(file_name="f.csv", content=content, by=manager)
        batch = import_batch_apply(batch=previewed, by=manager)

    # then: an insert event per new customer, a before/after pair for the changed one, none for the other
    assert batch.created_count == 2
    created = Customer.objects.filter(external_id__in=["E-3", "E-4"])
    inserts = CustomerEvent.objects.filter(pgh_obj_id__in=[c.pk for c in created], pgh_label="insert")
    assert sorted(e.family_name for e in inserts) == ["Kato", "Tanaka"]
    assert all(e.pgh_context.metadata["user"] == manager.pk for e in inserts)
    before, after = last_update(changed.pk)
    assert (before.family_name, after.family_name) == ("Sato", "Suzuki")
    assert after.pgh_context.metadata["path"] == "/customers/import/"
    assert not CustomerEvent.objects.filter(pgh_obj_id=same.pk, pgh_label__in=["before", "update"]).exists()
    tagged = [change for change in customer_history(changed) if change.what == "Tag"]
    assert any(field[2] == tag.name for change in tagged for field in change.fields)
