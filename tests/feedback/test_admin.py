"""Every feedback model has an admin: lists, searches and pages load; written-by-service models are read-only."""

from __future__ import annotations

import pytest
from django.urls import reverse

from feedback import services
from feedback.models import CannedResponse, Holiday, SlaPolicy, SlaWarning, Survey, Ticket, TicketMessage, TicketTag
from tests.factories import UserFactory, ticket_create

pytestmark = pytest.mark.django_db

MODELS = [Ticket, TicketMessage, TicketTag, CannedResponse, SlaPolicy, SlaWarning, Survey, Holiday]


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(username="root", is_superuser=True))
    return client


@pytest.fixture
def data():
    agent = UserFactory(username="agent", role="Support")
    ticket = ticket_create(tags=["lid"])
    services.ticket_reply(ticket=ticket, body="Hello", by=agent)
    services.ticket_status_change(ticket=ticket, status="resolved", by=agent)
    services.canned_response_save(title="Hi", body="Hello {customer_name}")
    SlaWarning.objects.create(ticket=ticket, kind="first_response_soon", due_at=ticket.first_response_due_at)
    return ticket


def test_every_admin_list_and_page_loads(admin_client, data):
    from feedback.models import BusinessHours

    for model in [*MODELS, BusinessHours]:
        meta = model._meta
        changelist = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        assert admin_client.get(changelist).status_code == 200, meta.model_name
        assert admin_client.get(changelist + "?q=1").status_code == 200, meta.model_name
        obj = model.objects.first()
        assert (
            admin_client.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])).status_code
            == 200
        )


def test_tickets_messages_warnings_and_surveys_are_read_only(admin_client, data):
    for model in (Ticket, TicketMessage, SlaWarning, Survey):
        meta = model._meta
        assert admin_client.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_add")).status_code == 403


def test_the_admin_closes_tickets_through_the_service(admin_client):
    tickets = [ticket_create() for _ in range(2)]
    admin_client.post(
        reverse("admin:feedback_ticket_changelist"),
        {"action": "close_selected", "_selected_action": [t.pk for t in tickets]},
    )
    assert set(Ticket.objects.values_list("status", flat=True)) == {"closed"}


def test_a_canned_response_saved_in_the_admin_is_validated(admin_client):
    response = admin_client.post(
        reverse("admin:feedback_cannedresponse_add"), {"title": "Bad", "body": "Hi {nope}", "is_active": "on"}
    )
    assert response.status_code == 200 and "Unknown placeholders" in response.content.decode()
    assert not CannedResponse.objects.exists()
    admin_client.post(
        reverse("admin:feedback_cannedresponse_add"), {"title": "Good", "body": "Hi {customer_name}", "is_active": "on"}
    )
    assert CannedResponse.objects.get().created_by.username == "root"


def test_searching_a_reference_finds_that_ticket_first(admin_client):
    """Issue 20, point 14: 「T-000123」 found first the follow-up ticket quoting it in its subject."""
    ticket = ticket_create(subject="The lid is broken")
    follow_up = ticket_create(subject=f"Follow up: CSAT score 2 ({ticket.reference})")

    response = admin_client.get("/admin/feedback/ticket/", {"q": ticket.reference})

    assert [t.pk for t in response.context["cl"].result_list] == [ticket.pk]
    # a reference search finds nothing else; a plain subject word still finds both
    words = admin_client.get("/admin/feedback/ticket/", {"q": "Follow up"}).context["cl"].result_list
    assert [t.pk for t in words] == [follow_up.pk]


def test_the_ticket_queue_search_for_a_reference_finds_that_ticket(admin_client):
    from feedback.models import Ticket

    ticket = ticket_create(subject="The lid is broken")
    ticket_create(subject=f"Follow up ({ticket.reference})")

    assert list(Ticket.objects.search(ticket.reference)) == [ticket]
    assert list(Ticket.objects.search("ｔ－" + ticket.reference[2:])) == [ticket]  # typed full width
    assert Ticket.objects.search("T-999999").count() == 0  # no such ticket: the subject search, which finds none
