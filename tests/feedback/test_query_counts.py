"""Queue pages cost the same number of queries with 5 tickets or 500; the ticket page stays small and flat
whatever the length of its conversation and the size of the tables."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qsl

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from feedback.models import CannedResponse, Ticket, TicketMessage, TicketTag
from tests.factories import CustomerFactory, UserFactory, ticket_create

pytestmark = pytest.mark.django_db

QUEUE_URLS = [
    "?queue=open",
    "?queue=mine",
    "?queue=unassigned",
    "?queue=breaching",
    "?queue=all",
    "?queue=all&status=new",
    "?queue=open&priority=high",
    "?queue=open&kind=complaint",
    "?queue=all&sort=-created",
    "?queue=all&q=kettle",
    "?queue=all&q=someone@example.com",
]


def tickets(n: int, *, assignee, customers: int = 5) -> None:
    """``n`` tickets of several customers, assignees, tags and deadlines, written in bulk."""
    people = [CustomerFactory() for _ in range(customers)]
    tags = [TicketTag.objects.get_or_create(name=f"t{i}")[0] for i in range(3)]
    now = timezone.now()
    rows = Ticket.objects.bulk_create(
        [
            Ticket(
                customer=people[i % customers],
                subject=f"Kettle problem {i}",
                kind=["complaint", "question"][i % 2],
                priority=["high", "normal"][i % 2],
                status=["new", "open"][i % 2],
                assignee=assignee if i % 3 else None,
                created_at=now - dt.timedelta(hours=i),
                first_response_due_at=now + dt.timedelta(minutes=30 * (i % 7) - 60),
                next_due_at=now + dt.timedelta(minutes=30 * (i % 7) - 60),
                next_warn_at=now + dt.timedelta(minutes=30 * (i % 7) - 120),
            )
            for i in range(n)
        ]
    )
    Ticket.tags.through.objects.bulk_create(
        [Ticket.tags.through(ticket_id=t.pk, tickettag_id=tags[i % 3].pk) for i, t in enumerate(rows)]
    )


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured.captured_queries)


@pytest.mark.parametrize("query", QUEUE_URLS)
def test_queue_pages_cost_the_same_with_5_and_500_tickets(client, query):
    agent = UserFactory(username="agent", role="Support")
    client.force_login(agent)
    url = reverse("feedback:queue") + query
    if "q=" in query:  # a search is posted, and its page read by the token it gets (customers/search_tokens.py)
        url = client.post(reverse("feedback:queue"), {"_search": "1", **dict(parse_qsl(query[1:]))})["Location"]
    tickets(5, assignee=agent)
    with_5 = count_queries(client, url)
    tickets(495, assignee=agent, customers=50)
    with_500 = count_queries(client, url)
    assert with_500 == with_5 <= 8


def test_the_next_page_costs_the_same(client):
    agent = UserFactory(username="agent", role="Support")
    client.force_login(agent)
    tickets(500, assignee=agent, customers=50)
    first = client.get(reverse("feedback:queue") + "?queue=all")
    cursor = first.context["page"].next_cursor
    assert cursor
    n_first = count_queries(client, reverse("feedback:queue") + "?queue=all")
    n_next = count_queries(client, reverse("feedback:queue") + f"?queue=all&after={cursor}")
    assert n_first == n_next


def test_the_ticket_page_is_flat_and_small_whatever_the_conversation(client):
    agent = UserFactory(username="agent", role="Support")
    client.force_login(agent)
    for i in range(30):
        UserFactory(username=f"staff{i}")
    for i in range(20):
        CannedResponse.objects.create(title=f"Canned {i}", body="Hello {customer_name}")
    ticket = ticket_create(assignee=agent)
    url = ticket.get_absolute_url()
    TicketMessage.objects.bulk_create(
        [
            TicketMessage(ticket=ticket, customer=ticket.customer, kind="reply", body="x" * 300, author=agent)
            for _ in range(5)
        ]
    )
    with_5 = count_queries(client, url)
    TicketMessage.objects.bulk_create(
        [
            TicketMessage(ticket=ticket, customer=ticket.customer, kind="note", body="y" * 2000, author=agent)
            for _ in range(500)
        ]
    )
    for _ in range(300):
        ticket_create(CustomerFactory())
    with_505 = count_queries(client, url)
    assert with_505 == with_5 <= 14
    response = client.get(url)
    assert len(response.content) < 100 * 1024
    assert "Show older messages" in response.content.decode()


def test_the_customer_page_costs_the_same_with_many_tickets(client):
    client.force_login(UserFactory(username="boss", role="Manager"))
    customer = CustomerFactory()
    ticket_create(customer)
    url = customer.get_absolute_url()
    client.get(url)  # warm: caches filled on a process's first page do not count
    one = count_queries(client, url)
    for _ in range(20):
        ticket_create(customer)
    assert count_queries(client, url) == one
