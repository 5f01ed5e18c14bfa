"""The audit pages: managers only; the customer's history and access log; the access report for a breach."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from crm.audit.context import history_context
from crm.audit.models import AccessRecord
from customers import services as customer_services
from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role", ["Manager", "Support", "Marketing", None])
def test_only_managers_open_the_audit_pages(role):
    # given
    user = UserFactory(role=role) if role else None
    client = Client()
    if user:
        client.force_login(user)
    customer = CustomerFactory()
    urls = [("get", reverse("audit:customer", args=[customer.pk])), ("get", reverse("audit:report"))]
    urls += [("post", reverse("audit:report"))]

    for method, url in urls:
        # when
        response = getattr(client, method)(url)

        # then
        if role is None:
            assert response.status_code == 302 and "/accounts/login/" in response["Location"]
        else:
            assert response.status_code == (200 if role == "Manager" else 403), (role, url)


def login(user) -> Client:
    """A client of its own per user (the role fixtures share pytest-django's ``client``)."""
    client = Client()
    client.force_login(user)
    return client


def test_the_panel_is_shown_to_managers_only(manager, support):
    customer = CustomerFactory()
    url = reverse("customers:detail", args=[customer.pk])
    assert 'id="audit-panel"' in login(manager).get(url).content.decode()
    assert 'id="audit-panel"' not in login(support).get(url).content.decode()


def test_the_customer_audit_shows_the_change_and_the_access(manager, support):
    # given
    customer = CustomerFactory(family_name="Sato")
    with history_context(user=manager.pk):
        customer_services.customer_update(customer=customer, data={"family_name": "Suzuki"}, by=manager)
    login(support).get(reverse("customers:detail", args=[customer.pk]))

    # when
    html = login(manager).get(reverse("audit:customer", args=[customer.pk]), HTTP_HX_REQUEST="true").content.decode()

    # then
    assert "family name" in html and "Sato" in html and "Suzuki" in html
    assert manager.username in html
    assert support.username in html and "Customer page" in html


def test_the_report_answers_for_two_customers_over_a_range(manager_client, support, marketing):
    # given: accesses to two customers (and another) by two staff members, one of them before the range
    first, second, other = CustomerFactory(email="first@example.com"), CustomerFactory(), CustomerFactory()
    as_support, as_marketing = Client(), Client()
    as_support.force_login(support)
    as_marketing.force_login(marketing)
    as_support.get(reverse("customers:detail", args=[first.pk]))
    as_marketing.get(reverse("customers:timeline", args=[second.pk]))
    as_marketing.get(reverse("customers:detail", args=[other.pk]))
    today = timezone.localdate()
    form = {"customers": f"first@example.com\n{second.pk}", "start": today - dt.timedelta(days=1), "end": today}

    # when
    response = manager_client.post(reverse("audit:report"), form)

    # then
    records = response.context["records"]
    assert sorted((r.username, r.how, r.matched_ids[0]) for r in records) == sorted(
        [(support.username, "page", first.pk), (marketing.username, "timeline", second.pk)]
    )
    # and: a range that ends before today finds nothing
    form |= {"start": today - dt.timedelta(days=5), "end": today - dt.timedelta(days=1)}
    assert manager_client.post(reverse("audit:report"), form).context["records"] == []


def test_the_report_downloads_as_csv_and_is_itself_logged(manager_client, manager, support):
    customer = CustomerFactory()
    as_support = Client()
    as_support.force_login(support)
    as_support.get(reverse("customers:detail", args=[customer.pk]))
    today = timezone.localdate()

    response = manager_client.post(
        reverse("audit:report"), {"customers": str(customer.pk), "start": today, "end": today, "csv": "1"}
    )

    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[1][1] == support.username and rows[1][5] == str(customer.pk)
    logged = AccessRecord.objects.get(what="audit:breach_report")
    assert (logged.how, logged.customer_ids, logged.user_id) == ("export", [customer.pk], manager.pk)


def test_the_report_form_posts_its_customers(manager_client):
    html = manager_client.get(reverse("audit:report")).content.decode()
    assert '<form method="post" class="card card-body shadow-sm mb-3" id="report-form">' in html  # no emails in URLs


def test_without_postgresql_the_page_says_there_is_no_history(manager_client, monkeypatch):
    # SQLite (the embedded default) installs no trigger: the page says so instead of showing an empty history.
    monkeypatch.setattr("crm.audit.views.history_enabled", lambda: False)
    monkeypatch.setattr("crm.audit.history.history_enabled", lambda: False)
    customer = CustomerFactory()
    response = manager_client.get(reverse("audit:customer", args=[customer.pk]))
    assert response.status_code == 200
    assert 'id="history-unavailable"' in response.content.decode()
