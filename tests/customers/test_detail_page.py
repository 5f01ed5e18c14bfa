"""The customer page's query budget: the customer, its panels and nothing else, whatever apps are installed and
however long the history. The timeline is loaded by htmx once the page is shown (its own request)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from customers.models import Note
from tests.factories import (
    CustomerFactory,
    NoteFactory,
    member_join,
    programme_with_tiers,
    ticket_create,
    touchpoint_create,
)

pytestmark = pytest.mark.django_db

# Counted as the other page tests count: everything the request runs, the user and their permissions included
# (2 queries; the session is cached). Then the customer (one-to-one panels joined), its tags, and at most one
# query per panel; the loyalty panel reads a member's memberships and their 12-month sums (2). On PostgreSQL the
# access log (crm/audit) adds its one INSERT: who opened this customer is recorded on every view. The LINE panel
# reads the customer's LINE link inside the customer's query (a panel annotation), the bounced-address notice is in
# the outreach panel's UNION, and the manual task form (its list of assignees) is fetched once the page is shown.
MAX_PLAIN = 7
MAX_MEMBER = 9


def queries(client, url: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return [q["sql"] for q in captured.captured_queries]


def grow_history(customer, n: int) -> None:
    Note.objects.bulk_create([Note(customer=customer, body=f"Call {i}") for i in range(n)])
    for i in range(3):
        touchpoint_create(customer, "transaction", amount=100 + i)


@pytest.mark.parametrize("role_client", ["manager_client", "support_client", "marketing_client"])
def test_the_page_runs_a_fixed_few_queries_for_a_plain_customer_and_a_member_with_tickets(request, role_client):
    # given: a plain customer, and a loyalty member with two tickets; the session is cached by a first request
    client = request.getfixturevalue(role_client)
    plain = CustomerFactory()
    member = member_join(CustomerFactory(), programme_with_tiers()).customer
    ticket_create(customer=member)
    ticket_create(customer=member)
    client.get(plain.get_absolute_url())

    # when: each page is requested, then again after their history grew
    before = {c.pk: queries(client, c.get_absolute_url()) for c in (plain, member)}
    for customer in (plain, member):
        grow_history(customer, 40)
    after = {c.pk: queries(client, c.get_absolute_url()) for c in (plain, member)}

    # then: within the budget, the same count with a longer history, and no timeline query on the page
    print(f"\n{role_client}: plain {len(before[plain.pk])} queries, member with tickets {len(before[member.pk])}")
    assert len(before[plain.pk]) <= MAX_PLAIN
    assert len(before[member.pk]) <= MAX_MEMBER
    assert [len(q) for q in before.values()] == [len(q) for q in after.values()]
    for sql in before[member.pk]:
        assert "customers_note" not in sql and "touchpoints_touchpoint" not in sql and 'ledgerentry"."id' not in sql


def test_the_timeline_is_loaded_after_the_page_and_without_javascript_on_request(manager_client):
    # given: a customer with a note
    customer = CustomerFactory()
    NoteFactory(customer=customer, body="Asked about the spring catalogue")
    url = customer.get_absolute_url()
    timeline_url = reverse("customers:timeline", args=[customer.pk])

    # when: the page is shown, then its timeline fetched as htmx does, then the no-JavaScript fallback
    page = manager_client.get(url).content.decode()
    fragment = manager_client.get(timeline_url, headers={"HX-Request": "true"}).content.decode()
    fallback = manager_client.get(f"{url}?timeline=1").content.decode()

    # then: the page asks for the timeline on load, with a link for browsers without JavaScript
    assert f'hx-get="{timeline_url}" hx-trigger="load, timelineChanged from:body"' in page
    assert 'href="?timeline=1#timeline"' in page and "<noscript>" in page
    assert "Asked about the spring catalogue" not in page
    assert "Asked about the spring catalogue" in fragment
    assert "Asked about the spring catalogue" in fallback
    assert 'hx-trigger="load, timelineChanged from:body"' not in fallback


def test_the_timeline_endpoint_needs_the_permission_to_see_customers(client, django_user_model):
    customer = CustomerFactory()
    NoteFactory(customer=customer, body="Private")
    client.force_login(django_user_model.objects.create_user("nobody", password="x"))
    response = client.get(reverse("customers:timeline", args=[customer.pk]), headers={"HX-Request": "true"})
    assert response.status_code == 403 and b"Private" not in response.content
