"""Who may open which customers page: every staff URL for anonymous visitors and each role.

The expected outcome of every cell is derived from ``customers.roles.CUSTOMERS_PERMISSIONS`` and the
permission each view requires (the table below, read from customers/views.py and crm/views.py), never
from observed responses.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import resolve, reverse

from customers import urls as customers_urls
from customers.models import ImportBatch
from customers.roles import CUSTOMERS_PERMISSIONS, MANAGER, MARKETING, PREFERENCE_PERMISSIONS, ROLES, SUPPORT
from tests.factories import CustomerFactory, TagFactory, UserFactory

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class StaffUrl:
    """One staff URL: the permissions its view requires, and what a permitted user gets back."""

    url_name: str
    requires: tuple[str, ...]  # empty: any logged-in staff member
    method: str = "get"
    allowed_status: int = 200
    label: str = ""

    @property
    def id(self) -> str:
        return self.label or self.url_name


PAGES = [
    StaffUrl("home", ()),
    StaffUrl("customers:list", ("customers.view_customer",)),
    StaffUrl("customers:create", ("customers.add_customer",)),
    StaffUrl("customers:detail", ("customers.view_customer",)),
    StaffUrl("customers:update", ("customers.change_customer",)),
    StaffUrl("customers:delete", ("customers.delete_customer",)),
    StaffUrl("customers:note_create", ("customers.add_note",), method="post", allowed_status=302),
    StaffUrl("customers:timeline", ("customers.view_customer",)),
    # Contact preferences: everyone who sees the customer reads them; support and managers record them.
    StaffUrl("customers:preferences_history", ("customers.view_customer",)),
    StaffUrl("customers:preferences_set", ("customers.add_contactpreference",), method="post", allowed_status=302),
    StaffUrl("customers:tags", ("customers.view_tag",)),
    StaffUrl(
        "customers:tags",
        ("customers.view_tag", "customers.add_tag"),
        method="post",
        allowed_status=302,
        label="customers:tags (create)",
    ),
    StaffUrl("customers:tag_update", ("customers.change_tag",)),
    StaffUrl("customers:tag_delete", ("customers.delete_tag",)),
    StaffUrl("customers:duplicates", ("customers.merge_customer",)),
    StaffUrl("customers:merge", ("customers.merge_customer",)),
    StaffUrl("customers:import", ("customers.import_customer",)),
    StaffUrl("customers:import_detail", ("customers.import_customer",)),
    StaffUrl("customers:import_apply", ("customers.import_customer",), method="post", allowed_status=302),
    StaffUrl("customers:export", ("customers.export_customer",)),
    # The customer form's address lookup: for whoever may add (or change) customers.
    StaffUrl("customers:postal_lookup", ("customers.add_customer",)),
]


@pytest.fixture
def records(db):
    first = CustomerFactory(family_name="Sato", phone="+819011112222")
    second = CustomerFactory(family_name="Sato", phone="+819011112222")
    tag = TagFactory(name="VIP")
    batch = ImportBatch.objects.create(file_name="customers.csv", content=b"family_name\nSato\n")
    return {"customer": first, "other": second, "tag": tag, "batch": batch}


def request_for(staff_url: StaffUrl, records: dict) -> tuple[str, dict]:
    """The URL and the data a user would send to reach ``staff_url``."""
    customer, tag, batch = records["customer"], records["tag"], records["batch"]
    args = {
        "customers:detail": [customer.pk],
        "customers:update": [customer.pk],
        "customers:delete": [customer.pk],
        "customers:note_create": [customer.pk],
        "customers:timeline": [customer.pk],
        "customers:preferences_history": [customer.pk],
        "customers:preferences_set": [customer.pk],
        "customers:tag_update": [tag.pk],
        "customers:tag_delete": [tag.pk],
        "customers:import_detail": [batch.pk],
        "customers:import_apply": [batch.pk],
    }.get(staff_url.url_name, [])
    data = {
        "customers:note_create": {"body": "Asked about opening hours."},
        "customers:merge": {"ids": [customer.pk, records["other"].pk]},
        "customers:postal_lookup": {"code": "100-0001"},
        "customers:preferences_set": {"language": "ja", "evidence": "By phone", "pref_line_news": "on"},
    }.get(staff_url.url_name, {})
    if staff_url.url_name == "customers:tags" and staff_url.method == "post":
        data = {"name": "Newsletter", "color": "primary", "description": ""}
    return reverse(staff_url.url_name, args=args), data


def expected_status(role: str, staff_url: StaffUrl) -> int:
    granted = set(CUSTOMERS_PERMISSIONS[role]) | set(PREFERENCE_PERMISSIONS.get(role, []))
    return staff_url.allowed_status if set(staff_url.requires) <= granted else 403


# Saved segments grant their own permissions (customers.roles.SEGMENT_PERMISSIONS); their pages are checked per
# role in tests/customers/test_segments.py. Any other new customers URL must be added to PAGES above.
COVERED_ELSEWHERE = {
    "customers:segments",
    "customers:segment_create",
    "customers:segment_preview",
    "customers:segment_update",
    "customers:segment_count",
    "customers:segment_delete",
}


def test_the_table_covers_every_customers_url():
    # given: the URL names the customers app declares
    declared = {f"customers:{pattern.name}" for pattern in customers_urls.urlpatterns}

    # then: each of them has a row in the permission table
    assert declared - COVERED_ELSEWHERE <= {staff_url.url_name for staff_url in PAGES}


def test_the_table_matches_what_class_based_views_declare(records):
    # given: the class-based views behind the table's URLs (function views are read from their decorators)
    declared, tabled = {}, {}
    for staff_url in PAGES:
        url, _data = request_for(staff_url, records)
        view_class = getattr(resolve(url).func, "view_class", None)
        if view_class is not None and hasattr(view_class, "permission_required"):
            declared[staff_url.id] = (view_class.permission_required,)
            tabled[staff_url.id] = staff_url.requires

    # then: the table requires exactly what each of them requires
    assert len(declared) >= 7
    assert tabled == declared


@pytest.mark.parametrize("staff_url", PAGES, ids=lambda p: p.id)
def test_anonymous_visitors_are_sent_to_the_login_page(client, records, staff_url):
    # given: nobody is logged in
    url, data = request_for(staff_url, records)

    # when: the page is requested
    response = getattr(client, staff_url.method)(url, data)

    # then: the visitor is redirected to log in, and comes back to the page afterwards
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == reverse("login")
    (next_url,) = parse_qs(location.query)["next"]
    assert urlsplit(next_url).path == url


@pytest.mark.parametrize("staff_url", PAGES, ids=lambda p: p.id)
@pytest.mark.parametrize("role", ROLES)
def test_each_role_reaches_exactly_the_pages_its_permissions_allow(client, records, role, staff_url):
    # given: a staff member in the role
    client.force_login(UserFactory(username=f"{role.lower()}-user", role=role))
    url, data = request_for(staff_url, records)
    expected = expected_status(role, staff_url)

    # when: they open the page (or send its form)
    response = getattr(client, staff_url.method)(url, data)
    if response.streaming:
        b"".join(response.streaming_content)

    # then: a permitted role gets the page (or is redirected after the action), the others a 403
    assert response.status_code == expected, f"{role} on {staff_url.id}"


def test_deleting_and_exporting_customers_stay_with_managers():
    # given: what each role is granted
    support, marketing, manager = (set(CUSTOMERS_PERMISSIONS[r]) for r in (SUPPORT, MARKETING, MANAGER))

    # then: only managers delete or export customers, and managers can do everything the others can
    assert {"customers.delete_customer", "customers.export_customer"} <= manager - support - marketing
    assert support | marketing <= manager


def test_healthz_reports_database_and_broker_ok_without_login(client):
    # when: a load balancer asks, with no session
    response = client.get(reverse("healthz"))

    # then: it answers 200 with JSON saying both dependencies are ok
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["database"] == "ok"
    assert body["broker"] == "ok"
    assert body["status"] == "ok"


def test_healthz_says_error_without_naming_the_exception(client, monkeypatch, caplog):
    # given: a broker that refuses connections
    from crm.celery import app

    def refuse(*args, **kwargs):
        raise ConnectionRefusedError("[Errno 111] Connection refused to redis://10.0.0.5:6379")

    monkeypatch.setattr(app, "connection_for_write", refuse)

    # when: anyone asks
    response = client.get(reverse("healthz"))

    # then: 503 and a bland "error"; what went wrong is in the log, not in the answer
    assert response.status_code == 503
    assert response.json() == {"database": "ok", "broker": "error", "status": "error"}
    assert "ConnectionRefused" not in response.content.decode()
    assert "ConnectionRefusedError" in caplog.text
