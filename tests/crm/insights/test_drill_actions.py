"""Acting on the customers behind a figure: saved as a segment (a tag of the same name), sent a broadcast (the
segment preselected in the checked broadcast flow), given tasks (idempotent)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.insights import metrics
from customers.models import Customer, Segment
from tests.factories import CustomerFactory
from touchpoints.outreach.models import StaffTask

pytestmark = pytest.mark.django_db


def _act(client, action: str, **data):
    period = metrics.Period.last_days(30)
    url = reverse("insights:figure_customers_act", args=["new_customers"])
    return client.post(url, {"action": action, "start": period.start, "end": period.end, **data})


def test_the_customers_behind_a_figure_are_saved_as_a_segment(manager_client):
    customers = [CustomerFactory(family_name=f"Drill {i}") for i in range(3)]
    old = CustomerFactory()
    Customer.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=200))

    page = manager_client.get(reverse("insights:figure_customers", args=["new_customers"]))
    response = _act(manager_client, "segment", name="June newcomers")

    segment = Segment.objects.get(name="June newcomers")
    assert b'id="list-segment-form"' in page.content and response.status_code == 302
    assert set(Customer.objects.in_segment(segment).values_list("pk", flat=True)) == {c.pk for c in customers}
    again = _act(manager_client, "segment", name="june newcomers")  # the name is taken, whatever its case
    assert again.status_code == 302 and Segment.objects.count() == 1


def test_broadcast_to_a_figures_customers_opens_the_checked_flow_with_their_segment(manager_client):
    CustomerFactory()

    response = _act(manager_client, "broadcast", name="Newcomers mail")

    segment = Segment.objects.get(name="Newcomers mail")
    assert response.status_code == 302 and response.url.endswith(f"?segment={segment.pk}")
    form = manager_client.get(response.url).content.decode()
    assert f'<option value="{segment.pk}" selected>' in form


def test_tasks_for_a_figures_customers_are_created_once(manager_client, support):
    customers = [CustomerFactory() for _ in range(3)]
    due = (timezone.localtime() + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    data = {"title": "Welcome call", "due_at": due, "assignee": support.pk, "channel": "phone"}

    _act(manager_client, "tasks", **data)
    _act(manager_client, "tasks", **data)  # a second click

    tasks = StaffTask.objects.filter(title="Welcome call")
    assert sorted(tasks.values_list("customer_id", flat=True)) == sorted(c.pk for c in customers)
    assert {t.assignee_id for t in tasks} == {support.pk}


def test_marketing_may_save_a_segment_but_not_give_tasks_to_a_list(marketing_client):
    CustomerFactory()
    due = (timezone.localtime() + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")

    denied = _act(marketing_client, "tasks", title="x", due_at=due, channel="phone")

    assert denied.status_code == 403 and not StaffTask.objects.exists()
