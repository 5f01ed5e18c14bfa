"""The customer list's actions (touchpoints/outreach/list_actions.py, the code a figure's customers use): the list as
filtered and searched, and a segment's page (the list filtered by the segment), saved as a segment, sent a broadcast,
given tasks; with the list's count and the same permission checks."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer, Segment
from customers.services import segment_save
from tests.factories import CustomerFactory
from touchpoints.outreach.models import StaffTask

pytestmark = pytest.mark.django_db
LIST = reverse("customers:list")
BLOCK = reverse("outreach:customer_list_actions")
ACT = reverse("outreach:customer_list_act")


def _searched(client, text: str) -> str:
    """The list's query after typing ``text`` into its search: the text is a token in the session, not in the URL."""
    response = client.post(LIST, {"_search": "1", "q": text})
    query = urlsplit(response["Location"]).query
    assert text not in query
    return query


def _task_data(support) -> dict:
    due = (timezone.localtime() + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    return {"title": "Call them back", "due_at": due, "assignee": support.pk, "channel": "phone"}


def test_the_searched_list_gets_tasks_for_its_customers_only(manager_client, support):
    sato = [CustomerFactory(family_name="Satoyama") for _ in range(3)]
    CustomerFactory(family_name="Tanaka")
    query = _searched(manager_client, "Satoyama")

    block = manager_client.get(f"{BLOCK}?{query}")
    response = manager_client.post(ACT, {"action": "tasks", "query": query, **_task_data(support)})
    manager_client.post(ACT, {"action": "tasks", "query": query, **_task_data(support)})  # a second click

    assert block.status_code == 200 and "3 customers" in block.content.decode()
    assert 'id="list-tasks-form"' in block.content.decode()
    assert response.status_code == 302 and response.url == f"{LIST}?{query}"
    tasks = StaffTask.objects.filter(title="Call them back")
    assert sorted(tasks.values_list("customer_id", flat=True)) == sorted(c.pk for c in sato)


def test_the_filtered_list_is_saved_as_a_segment(manager_client):
    vip = [CustomerFactory(source="event") for _ in range(2)]
    CustomerFactory(source="web")

    response = manager_client.post(ACT, {"action": "segment", "query": "source=event", "name": "Event guests"})

    segment = Segment.objects.get(name="Event guests")
    assert response.status_code == 302
    assert set(Customer.objects.in_segment(segment).values_list("pk", flat=True)) == {c.pk for c in vip}


def test_a_segments_page_sends_its_broadcast_to_that_segment(manager_client, manager):
    CustomerFactory(source="event")
    segment = segment_save(segment=None, name="Event people", description="", rules={"source": ["event"]}, by=manager)
    query = f"segment={segment.pk}"

    block = manager_client.get(f"{BLOCK}?{query}").content.decode()
    response = manager_client.post(ACT, {"action": "broadcast", "query": query})

    assert "Event people" in block and "1 customer" in block
    assert response.status_code == 302 and response.url.endswith(f"?segment={segment.pk}")
    assert Segment.objects.count() == 1  # no copy saved


def test_the_same_permission_checks_as_a_figures_customers(support, marketing):
    CustomerFactory()
    support_client, marketing_client = Client(), Client()
    support_client.force_login(support)
    marketing_client.force_login(marketing)

    assert support_client.get(BLOCK).content == b""  # no action for support: no block
    assert 'id="list-actions-slot"' not in support_client.get(LIST).content.decode()
    assert support_client.post(ACT, {"action": "segment", "query": "", "name": "X"}).status_code == 403
    assert marketing_client.post(ACT, {"action": "tasks", "query": ""}).status_code == 403
    assert marketing_client.post(ACT, {"action": "segment", "query": "", "name": "All"}).status_code == 302
    page = marketing_client.get(LIST).content.decode()
    assert 'id="list-actions-slot"' in page
    assert marketing_client.post(ACT, {"action": "nope", "query": ""}).status_code == 302
