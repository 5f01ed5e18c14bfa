"""The feedback API: a ticket from the website widget, a customer's tickets; bearer keys and throttling."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.test import Client

from customers.models import Customer
from feedback.models import Ticket
from tests.factories import CustomerFactory, api_key_create, ticket_create

pytestmark = pytest.mark.django_db

TICKETS = "/api/v1/tickets/"


@pytest.fixture
def api():
    _key, raw = api_key_create()
    return Client(headers={"Authorization": f"Bearer {raw}"})


def post(client: Client, payload: dict):
    return client.post(TICKETS, payload, content_type="application/json")


def test_the_widget_opens_a_ticket_for_a_new_customer(api, outbox):
    response = post(
        api,
        {"email": "Widget@Example.com", "name": "Aiko", "message": "Where is my order?", "kind": "question",
         "order_reference": "A-100", "language": "en", "email_verified": True},
    )  # fmt: skip
    assert response.status_code == 201
    data = response.json()
    ticket = Ticket.objects.get(pk=data["id"])
    assert data["reference"] == ticket.reference and data["status"] == "new" and data["channel"] == "widget"
    customer = ticket.customer
    assert customer.email == "widget@example.com" and customer.source == "api" and not customer.marketing_consent
    assert ticket.order_reference == "A-100" and ticket.subject == "Where is my order?"
    assert [m.key for m in outbox()] == [f"feedback:ticket:{ticket.pk}:received"]


def test_a_retry_with_the_same_key_opens_no_second_ticket(api):
    payload = {"email": "a@example.com", "message": "Hello", "idempotency_key": "w-1", "email_verified": True}
    first, second = post(api, payload), post(api, payload)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"] and Ticket.objects.count() == 1


@pytest.mark.parametrize(
    "payload",
    [{}, {"email": "nope", "message": "x"}, {"email": "a@example.com"},
     {"email": "a@example.com", "message": "x", "kind": "rant"}, {"email": "a@example.com", "message": "x" * 10_001}],
)  # fmt: skip
def test_invalid_requests_are_refused_with_field_errors(api, payload):
    response = post(api, payload)
    assert response.status_code == 400 and response.json()
    assert not Ticket.objects.exists() and not Customer.objects.exists()


def test_a_key_is_needed():
    assert post(Client(), {"email": "a@example.com", "message": "x"}).status_code == 401
    assert Client().get("/api/v1/customers/1/tickets/").status_code == 401


def test_a_customers_tickets_newest_first(api):
    customer = CustomerFactory()
    older, newer = ticket_create(customer, subject="Older"), ticket_create(customer, subject="Newer")
    ticket_create(CustomerFactory())
    response = api.get(f"/api/v1/customers/{customer.pk}/tickets/")
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["id"] for r in results] == [newer.pk, older.pk]
    assert results[0]["reference"] == newer.reference and "body" not in results[0]
    assert api.get("/api/v1/customers/999999999/tickets/").status_code == 404
    assert api.get(f"/api/v1/customers/{2**63}/tickets/").status_code == 404


def test_the_schema_documents_the_endpoints_without_warnings(api):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")
    paths = api.get("/api/schema/", {"format": "json"}).json()["paths"]
    assert {"/api/v1/tickets/", "/api/v1/customers/{id}/tickets/"} <= set(paths)
