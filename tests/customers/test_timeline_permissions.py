"""The timeline shows a reader only what their role may see: support correspondence stays with support."""

from __future__ import annotations

import pytest
from django.urls import reverse

from feedback.services import ticket_reply
from tests.factories import CustomerFactory, ticket_create

pytestmark = pytest.mark.django_db

REPLY = "Your replacement lid ships tomorrow"
CUSTOMER_WROTE = "The kettle lid springs open after a week"


@pytest.fixture
def customer_with_a_ticket(support):
    customer = CustomerFactory(email="aiko@example.com")
    ticket = ticket_create(customer, body=CUSTOMER_WROTE)
    ticket_reply(ticket=ticket, body=REPLY, by=support)
    return customer


def timeline_html(client, customer) -> str:
    response = client.get(reverse("customers:timeline", args=[customer.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_marketing_does_not_read_ticket_messages_on_the_timeline(marketing_client, customer_with_a_ticket):
    html = timeline_html(marketing_client, customer_with_a_ticket)
    assert REPLY not in html
    assert CUSTOMER_WROTE not in html
    # nor as a filter it could ask for
    page = marketing_client.get(customer_with_a_ticket.get_absolute_url()).content.decode()
    assert 'value="ticket"' not in page


def test_marketing_cannot_ask_for_ticket_entries_by_kind(marketing_client, customer_with_a_ticket):
    response = marketing_client.get(reverse("customers:timeline", args=[customer_with_a_ticket.pk]), {"kind": "ticket"})
    assert REPLY not in response.content.decode()


def test_support_reads_them(support_client, customer_with_a_ticket):
    html = timeline_html(support_client, customer_with_a_ticket)
    assert REPLY in html
