"""The access log: one row per page view, timeline page, API read and export; append-only; purged after retention."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from crm.audit.models import AccessRecord
from crm.audit.services import access_log_purge
from crm.audit.tasks import access_log_purge_task
from crm.insights import metrics
from tests.crm.insights.test_contact_list import score
from tests.factories import CustomerFactory, api_key_create

pytestmark = pytest.mark.django_db


def only_record() -> AccessRecord:
    (record,) = AccessRecord.objects.all()
    return record


def test_opening_a_customer_page_records_who_and_which_customer(support_client, support):
    customer = CustomerFactory()
    assert support_client.get(reverse("customers:detail", args=[customer.pk]) + "?q=x").status_code == 200
    record = only_record()
    assert (record.how, record.customer_ids, record.user_id) == ("page", [customer.pk], support.pk)
    assert record.username == support.username
    assert record.path == reverse("customers:detail", args=[customer.pk])  # no query string


def test_a_refused_page_records_nothing(client, db):
    customer = CustomerFactory()
    assert client.get(reverse("customers:detail", args=[customer.pk])).status_code == 302  # to the login page
    assert not AccessRecord.objects.exists()


def test_the_timeline_is_recorded(marketing_client):
    customer = CustomerFactory()
    assert marketing_client.get(reverse("customers:timeline", args=[customer.pk])).status_code == 200
    assert (only_record().how, only_record().customer_ids) == ("timeline", [customer.pk])


def test_an_api_read_records_the_key():
    key, raw = api_key_create()
    customer = CustomerFactory(email="aoki@example.com")
    api = Client(headers={"Authorization": f"Bearer {raw}"})
    response = api.post(reverse("api:customer_upsert"), {"email": "aoki@example.com"}, content_type="application/json")
    assert response.status_code == 200
    record = only_record()
    assert (record.how, record.customer_ids, record.api_key_id, record.user_id) == ("api", [customer.pk], key.pk, None)


def test_the_customers_export_records_its_rows_and_filter(manager_client, manager):
    shown, other = CustomerFactory(family_name="Aoki"), CustomerFactory(family_name="Baba")
    response = manager_client.get(reverse("customers:export") + "?q=Aoki")
    b"".join(response.streaming_content)
    record = only_record()
    assert (record.how, record.what, record.customer_ids) == ("export", "customers:export", [shown.pk])
    assert record.filter == {"q": ["Aoki"]}
    assert other.pk not in record.customer_ids


def test_the_figure_customers_export_is_recorded(manager_client):
    customer = CustomerFactory()
    period = metrics.Period.last_days(30, today=timezone.localdate())
    url = (
        reverse("insights:figure_customers_export", args=["new_customers"]) + f"?start={period.start}&end={period.end}"
    )
    b"".join(manager_client.get(url).streaming_content)
    record = only_record()
    assert record.what == "insights:figure_customers_export:new_customers"
    assert customer.pk in record.customer_ids


def test_the_contact_list_export_is_recorded(manager_client):
    scored = score()
    b"".join(manager_client.get(reverse("insights_scoring:contact_export")).streaming_content)
    record = only_record()
    assert (record.what, record.customer_ids) == ("insights_scoring:contact_export", [scored.customer_id])


def test_the_access_log_refuses_update_and_delete(manager_client):
    customer = CustomerFactory()
    manager_client.get(reverse("customers:detail", args=[customer.pk]))
    record = only_record()
    for statement in (
        "UPDATE audit_accessrecord SET username = 'someone else'",
        "DELETE FROM audit_accessrecord",
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    record.refresh_from_db()
    assert record.username != "someone else"


def test_the_retention_purge_runs_twice_safely(settings, manager_client):
    # given: a record past the retention period and one inside it
    settings.TSUNAGU_AUDIT_RETENTION_DAYS = 30
    customer = CustomerFactory()
    manager_client.get(reverse("customers:detail", args=[customer.pk]))
    manager_client.get(reverse("customers:timeline", args=[customer.pk]))
    old = AccessRecord.objects.get(how="page")
    with connection.cursor() as cursor:  # aged by hand: the trigger lets only the purge touch a record
        cursor.execute("ALTER TABLE audit_accessrecord DISABLE TRIGGER audit_access_append_only")
        cursor.execute(
            "UPDATE audit_accessrecord SET at = %s WHERE id = %s", [timezone.now() - dt.timedelta(days=31), old.pk]
        )
        cursor.execute("ALTER TABLE audit_accessrecord ENABLE TRIGGER audit_access_append_only")

    # when / then
    assert access_log_purge_task() == 1
    assert access_log_purge_task() == 0
    assert list(AccessRecord.objects.values_list("how", flat=True)) == ["timeline"]
    assert access_log_purge(now=timezone.now()) == 0


@pytest.mark.parametrize(
    "url_name",
    ["loyalty_api:customer_memberships", "feedback_api:customer_tickets", "api:customer_touchpoints"],
)
def test_an_api_read_of_a_customer_s_loyalty_tickets_or_touchpoints_records_the_key(url_name):
    # given: a key that may read, and a customer
    key, raw = api_key_create()
    customer = CustomerFactory()
    api = Client(headers={"Authorization": f"Bearer {raw}"})

    # when: it reads the customer's memberships, tickets or touchpoints
    response = api.get(reverse(url_name, args=[customer.pk]))

    # then: the read is in the access log, under the key
    assert response.status_code == 200
    record = only_record()
    assert (record.how, record.customer_ids, record.api_key_id, record.what) == ("api", [customer.pk], key.pk, url_name)


def test_an_api_read_of_a_missing_customer_records_nothing():
    _key, raw = api_key_create()
    api = Client(headers={"Authorization": f"Bearer {raw}"})
    assert api.get(reverse("loyalty_api:customer_memberships", args=[999999])).status_code == 404
    assert not AccessRecord.objects.exists()
