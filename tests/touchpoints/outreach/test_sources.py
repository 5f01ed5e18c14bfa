"""The outbox shows a reader only the correspondence their role may read: ticket replies stay with support."""

from __future__ import annotations

import pytest
from django.urls import reverse

from feedback.services import ticket_reply
from tests.factories import CustomerFactory, ticket_create
from touchpoints.outreach.models import OutboundMessage

pytestmark = pytest.mark.django_db

SUBJECT_WORD = "replacement"


@pytest.fixture
def reply_message(support):
    customer = CustomerFactory(email="aiko@example.com")
    ticket = ticket_create(customer, subject="Replacement lid for the kettle")
    ticket_reply(ticket=ticket, body="Your replacement lid ships tomorrow", by=support)
    message = OutboundMessage.objects.get(source_app="feedback", customer=customer, subject__icontains=SUBJECT_WORD)
    return message


def test_marketing_does_not_see_ticket_replies_in_the_outbox(marketing_client, reply_message):
    listing = marketing_client.get(reverse("outreach:outbox"))
    assert listing.status_code == 200
    assert reply_message.subject not in listing.content.decode()
    assert marketing_client.get(reverse("outreach:outbox_detail", args=[reply_message.pk])).status_code == 404
    page = marketing_client.get(reply_message.customer.get_absolute_url()).content.decode()
    assert reply_message.subject not in page


def test_a_manager_sees_them(manager_client, reply_message):
    assert reply_message.subject in manager_client.get(reverse("outreach:outbox")).content.decode()
    assert manager_client.get(reverse("outreach:outbox_detail", args=[reply_message.pk])).status_code == 200
