"""A LINE message joins the customer's conversation; the staff reply goes back by LINE."""

from __future__ import annotations

import pytest
from django.urls import reverse

from feedback.models import Ticket, TicketMessage
from feedback.services import ticket_reply
from tests.factories import line_linked_customer, line_user_id
from touchpoints.models import Touchpoint
from touchpoints.outreach.line.events import line_events_process
from touchpoints.outreach.models import LineUser
from touchpoints.outreach.outbox import messages_send

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch):
    monkeypatch.setattr("touchpoints.outreach.line.webhook._publish", lambda ids: None)
    monkeypatch.setattr("touchpoints.outreach.outbox.publishing.publish", lambda ids: len(ids))


def _deliver(client, standin, event):
    body, signature = standin.signed([event])
    answer = client.post(
        "/line/webhook/", data=body, content_type="application/json", headers={"x-line-signature": signature}
    )
    assert answer.status_code == 200
    line_events_process()


def test_a_line_message_opens_a_ticket_and_the_reply_goes_back_by_line(client, line_standin, support):
    # given a linked customer who writes on LINE
    customer = line_linked_customer(1, preferred_language="ja")
    _deliver(client, line_standin, line_standin.text(line_user_id(1), "注文した商品がまだ届きません"))
    # then a LINE ticket holds the message, and the timeline has it on the LINE channel
    ticket = Ticket.objects.get(customer=customer)
    assert ticket.channel == "line"
    assert ticket.messages.filter(channel="line").exists() and ticket.subject == "注文した商品がまだ届きません"
    assert Touchpoint.objects.filter(customer=customer, channel="line", direction="inbound").exists()
    # when staff reply while the reply token is fresh
    reply = ticket_reply(ticket=ticket, body="確認いたします。少々お待ちください。", by=support)
    messages_send(message_ids=[reply.outbound.pk])
    # then the reply went by LINE's reply API (free), is sent, and is on the timeline
    (delivery,) = line_standin.deliveries_to(line_user_id(1))
    assert delivery.via == "reply" and delivery.messages[0]["text"] == "確認いたします。少々お待ちください。"
    reply.outbound.refresh_from_db()
    assert reply.outbound.channel == "line" and reply.outbound.status == "sent"
    # a ticket's mail is on the timeline as the ticket's own reply entry, not as an outbox touchpoint
    client.force_login(support)
    timeline = client.get(reverse("customers:timeline", args=[customer.pk]), headers={"HX-Request": "true"})
    assert "確認いたします。少々お待ちください。" in timeline.content.decode()


def test_a_second_message_joins_the_open_line_ticket_and_a_late_reply_is_pushed(client, line_standin, support):
    customer = line_linked_customer(1)
    _deliver(client, line_standin, line_standin.text(line_user_id(1), "first"))
    _deliver(client, line_standin, line_standin.text(line_user_id(1), "second"))
    ticket = Ticket.objects.get(customer=customer)
    assert ticket.messages.filter(channel="line").count() == 2
    LineUser.objects.filter(customer=customer).update(reply_token_at="2000-01-01T00:00:00Z")

    reply = ticket_reply(ticket=ticket, body="answer", by=support)
    messages_send(message_ids=[reply.outbound.pk])

    (delivery,) = line_standin.deliveries_to(line_user_id(1))
    assert delivery.via == "push"


def test_the_same_line_message_delivered_twice_is_one_message(client, line_standin):
    customer = line_linked_customer(1)
    event = line_standin.text(line_user_id(1), "hello")
    _deliver(client, line_standin, event)
    event2 = {**event, "webhookEventId": "OTHER" + event["webhookEventId"][5:]}  # LINE resent it as a new event
    _deliver(client, line_standin, event2)

    assert Ticket.objects.filter(customer=customer).count() == 1
    assert TicketMessage.objects.filter(ticket__customer=customer, external_id=event["message"]["id"]).count() == 1
