"""The ticket queue's search by a customer's name goes through the customers' search without its 200-id cap: a
common name (many customers called 佐藤) hid the tickets of the customers beyond the first ids read."""

from __future__ import annotations

import pytest
from django.urls import reverse

from customers.models import Customer
from feedback.models import Ticket
from tests.factories import CustomerFactory, ticket_create

pytestmark = pytest.mark.django_db


def test_the_ticket_of_the_300th_sato_is_found(manager_client):
    # given: 300 customers named 佐藤 (more than the customers' search_ids cap of 200), the last one with a ticket
    Customer.objects.bulk_create(
        [Customer(family_name="佐藤", given_name=f"太郎{i}", email=f"sato{i}@example.com") for i in range(299)]
    )
    last = CustomerFactory(family_name="佐藤", given_name="最後")
    ticket = ticket_create(customer=last, subject="Where is my order?")
    other = ticket_create(customer=CustomerFactory(family_name="Tanaka"), subject="Another question")

    # when: support searches the queue by the name (two characters: the name's start; and with a given name)
    found = {q: set(Ticket.objects.search(q).values_list("pk", flat=True)) for q in ("佐藤", "佐藤 最後")}
    body = manager_client.post(reverse("feedback:queue"), {"_search": "1", "q": "佐藤"}, follow=True).content.decode()

    # then: the ticket is found, and no other
    assert found == {"佐藤": {ticket.pk}, "佐藤 最後": {ticket.pk}}
    assert ticket.reference in body and other.reference not in body
