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


SUBJECT = "Kettle lid will not stay shut"


@pytest.fixture
def customer_with_a_resolved_ticket(support):
    from feedback.services import ticket_status_change

    customer = CustomerFactory(email="ren@example.com")
    ticket = ticket_create(customer, subject=SUBJECT, body=CUSTOMER_WROTE)
    ticket_status_change(ticket=ticket, status="resolved", by=support)
    return customer, ticket


def test_marketing_does_not_read_the_support_touchpoints_a_ticket_logs(
    marketing_client, customer_with_a_resolved_ticket
):
    # given: a ticket opened and resolved, each logged as a support touchpoint on the journey
    customer, ticket = customer_with_a_resolved_ticket

    # when: marketing reads the timeline, and the customer page
    html = timeline_html(marketing_client, customer)
    page = marketing_client.get(customer.get_absolute_url()).content.decode()

    # then: the ticket's touchpoints are folded into the ticket's entry, which marketing does not see: no summary
    # anywhere (the touchpoint list, below, shows them without it)
    assert 'data-kind="touchpoint"' not in html and 'data-kind="ticket"' not in html
    for text in (html, page):
        assert SUBJECT not in text
        assert f"{ticket.reference} resolved" not in text


def test_support_reads_the_support_touchpoints_summaries(support_client, customer_with_a_resolved_ticket):
    customer, ticket = customer_with_a_resolved_ticket
    html = timeline_html(support_client, customer)
    assert SUBJECT in html and ticket.reference in html  # on the ticket's own entry


def test_the_touchpoint_list_leaves_ticket_subjects_out_for_marketing(
    marketing_client, support, customer_with_a_resolved_ticket
):
    from django.test import Client

    customer, ticket = customer_with_a_resolved_ticket
    for_marketing = marketing_client.get(reverse("touchpoints:list")).content.decode()
    assert SUBJECT not in for_marketing and f"{ticket.reference} resolved" not in for_marketing
    assert "Support correspondence: not shown to your role." in for_marketing
    support_client = Client()
    support_client.force_login(support)
    assert SUBJECT in support_client.get(reverse("touchpoints:list")).content.decode()
