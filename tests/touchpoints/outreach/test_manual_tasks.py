"""Tasks given by hand from the customer page: "call her back tomorrow", with a due date and an assignee."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import CustomerFactory
from touchpoints.outreach.models import StaffTask

pytestmark = pytest.mark.django_db


def test_support_gives_a_task_from_the_customer_page_and_it_is_in_their_list(support_client, support):
    customer = CustomerFactory()
    page = support_client.get(customer.get_absolute_url())
    form = support_client.get(reverse("outreach:customer_task_create", args=[customer.pk]))  # fetched by the page
    assert reverse("outreach:customer_task_create", args=[customer.pk]).encode() in page.content
    assert b'id="manual-task-form"' in form.content

    due = timezone.localtime() + dt.timedelta(days=1)
    response = support_client.post(
        reverse("outreach:customer_task_create", args=[customer.pk]),
        {
            "title": "Call her back",
            "due_at": due.strftime("%Y-%m-%dT%H:%M"),
            "assignee": support.pk,
            "channel": "phone",
        },
    )

    task = StaffTask.objects.get()
    assert response.status_code == 302 and response.url == customer.get_absolute_url()
    assert (task.customer, task.title, task.assignee, task.status) == (customer, "Call her back", support, "open")
    assert "Call her back" in support_client.get(reverse("outreach:tasks")).content.decode()


def test_a_task_without_a_title_or_for_someone_who_cannot_work_tasks_is_refused(support_client, marketing):
    customer = CustomerFactory()
    url = reverse("outreach:customer_task_create", args=[customer.pk])
    due = (timezone.localtime() + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")

    empty = support_client.post(url, {"title": " ", "due_at": due, "channel": "phone"}, follow=True)
    other = support_client.post(url, {"title": "Call", "due_at": due, "channel": "phone", "assignee": marketing.pk})

    assert empty.status_code == 200 and other.status_code == 302
    assert not StaffTask.objects.exists()


def test_marketing_may_not_give_tasks(marketing_client):
    customer = CustomerFactory()
    response = marketing_client.post(
        reverse("outreach:customer_task_create", args=[customer.pk]), {"title": "x", "due_at": "2030-01-01T10:00"}
    )
    assert response.status_code == 403 and not StaffTask.objects.exists()
