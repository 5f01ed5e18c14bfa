"""The widget API holds a message until its address is confirmed, as the public form does: a key could otherwise
attach a ticket to any customer by typing their email. A key's owner that verified the address itself says so
(``email_verified: true``), which only keys with the ``tickets:verified`` scope may."""

from __future__ import annotations

import pytest
from django.test import Client

from feedback.models import PendingSubmission, Ticket
from tests.factories import CustomerFactory, api_key_create
from touchpoints.models import ApiScope

pytestmark = pytest.mark.django_db
TICKETS = "/api/v1/tickets/"


def _client(*scopes: str) -> Client:
    _key, raw = api_key_create(scopes=list(scopes))
    return Client(headers={"Authorization": f"Bearer {raw}"})


def _post(client: Client, **payload):
    return client.post(TICKETS, {"message": "Please cancel my order", **payload}, content_type="application/json")


def test_a_message_for_an_existing_customer_is_held_until_the_address_is_confirmed(outbox):
    customer = CustomerFactory(email="hanako@example.com")

    client = _client(ApiScope.INGEST)
    response = _post(client, email="Hanako@Example.com", idempotency_key="w-9")
    again = _post(client, email="Hanako@Example.com", idempotency_key="w-9")

    assert response.status_code == again.status_code == 202
    assert response.json()["status"] == "pending_confirmation" and "id" not in response.json()
    assert not Ticket.objects.exists()
    (pending,) = PendingSubmission.objects.all()  # a retry holds nothing more
    assert pending.customer == customer
    assert [m.key for m in outbox()] == [f"feedback:confirm:{pending.pk}"]  # the link goes to the real address


def test_only_a_key_with_the_scope_may_say_the_address_was_verified():
    CustomerFactory(email="hanako@example.com")

    refused = _post(_client(ApiScope.INGEST), email="hanako@example.com", email_verified=True)

    assert refused.status_code == 400 and "email_verified" in refused.json()
    assert not Ticket.objects.exists() and not PendingSubmission.objects.exists()


def test_a_key_with_the_scope_opens_the_ticket_at_once_when_it_verified_the_address():
    customer = CustomerFactory(email="hanako@example.com")
    client = _client(ApiScope.INGEST, ApiScope.TICKETS_VERIFIED)

    opened = _post(client, email="hanako@example.com", email_verified=True)
    held = _post(client, email="hanako@example.com")  # without saying so: held, as any other

    assert opened.status_code == 201 and Ticket.objects.get(pk=opened.json()["id"]).customer == customer
    assert held.status_code == 202 and PendingSubmission.objects.count() == 1
