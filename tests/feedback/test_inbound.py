"""A customer's message on any channel joins their conversation (feedback.services.ticket_receive): the ticket it
answers moves back to the agent, a message delivered twice is stored once, automatic mail never opens or moves a
ticket, and a message on a closed ticket opens a new one."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.urls import reverse

from feedback import events, services
from feedback.models import Status, Ticket, TicketMessage
from tests.factories import CustomerFactory, UserFactory, ticket_create
from touchpoints.models import Touchpoint

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent():
    return UserFactory(username="agent", role="Support")


def test_a_reply_on_a_waiting_ticket_opens_it_and_resumes_the_clock(agent):
    ticket = ticket_create()
    services.ticket_reply(ticket=ticket, body="Could you send a photo?", by=agent, status=Status.WAITING)
    ticket.refresh_from_db()
    assert ticket.sla_paused_at is not None
    message = services.ticket_receive(
        customer=ticket.customer, ticket=ticket, channel="email", text="Here it is.", external_id="<a@example.jp>"
    )
    ticket.refresh_from_db()
    assert message.kind == TicketMessage.Kind.INBOUND and not message.replayed
    assert (message.body, message.channel, message.external_id) == ("Here it is.", "email", "<a@example.jp>")
    assert ticket.status == Status.OPEN and ticket.sla_paused_at is None
    assert Touchpoint.objects.filter(idempotency_key=f"feedback:ticket:{ticket.pk}:inbound:{message.pk}").exists()


def test_a_reply_on_a_resolved_ticket_reopens_it(agent):
    ticket = ticket_create()
    services.ticket_status_change(ticket=ticket, status=Status.RESOLVED, by=agent)
    services.ticket_receive(
        customer=ticket.customer, ticket=ticket, channel="line", text="Still broken", external_id="1"
    )
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN and ticket.resolved_at is None


def test_the_same_message_twice_is_stored_once():
    ticket = ticket_create()
    first = services.ticket_receive(
        customer=ticket.customer, ticket=ticket, channel="email", text="x", external_id="<m>"
    )
    again = services.ticket_receive(
        customer=ticket.customer, ticket=ticket, channel="email", text="x", external_id="<m>"
    )
    assert again.replayed and again.pk == first.pk
    assert TicketMessage.objects.filter(kind="inbound").count() == 1


def test_automatic_mail_never_opens_or_moves_a_ticket(agent):
    customer = CustomerFactory()
    assert services.ticket_receive(customer=customer, channel="email", text="Out of office", automatic=True) is None
    assert not Ticket.objects.filter(customer=customer).exists()
    ticket = ticket_create(customer=customer)
    services.ticket_status_change(ticket=ticket, status=Status.RESOLVED, by=agent)
    message = services.ticket_receive(customer=customer, ticket=ticket, channel="email", text="Away", automatic=True)
    ticket.refresh_from_db()
    assert message.kind == TicketMessage.Kind.INBOUND and ticket.status == Status.RESOLVED


def test_a_message_on_a_closed_ticket_or_none_opens_a_new_ticket(agent):
    ticket = ticket_create()
    services.ticket_status_change(ticket=ticket, status=Status.CLOSED, by=agent)
    opened = services.ticket_receive(
        customer=ticket.customer,
        ticket=ticket,
        channel="email",
        subject="Re: kettle\x00",
        text="Hello again",
        external_id="<n>",
        sender="hanako@example.jp",
    )
    assert opened.opened_ticket and opened.kind == TicketMessage.Kind.OPENED
    new = opened.ticket
    assert new.pk != ticket.pk and (new.subject, new.body, new.channel) == ("Re: kettle", "Hello again", "email")
    assert (opened.external_id, opened.sender) == ("<n>", "hanako@example.jp")
    replay = services.ticket_receive(customer=ticket.customer, channel="email", text="Hello again", external_id="<n>")
    assert replay.replayed and replay.ticket.pk == new.pk


def test_a_long_message_is_cut_with_a_marker():
    ticket = ticket_create()
    message = services.ticket_receive(customer=ticket.customer, ticket=ticket, channel="email", text="あ" * 20_000)
    assert len(message.body) <= services.BODY_MAX and "kept" in message.body


def test_the_event_names_the_status_before(agent, django_capture_on_commit_callbacks):
    ticket = ticket_create()
    services.ticket_status_change(ticket=ticket, status=Status.RESOLVED, by=agent)
    heard = []

    def receiver(sender, **kwargs):
        heard.append((kwargs["ticket"].status, kwargs["from_status"]))

    events.ticket_customer_replied.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.ticket_receive(customer=ticket.customer, ticket=ticket, channel="email", text="Hm")
    finally:
        events.ticket_customer_replied.disconnect(receiver)
    assert heard == [(Status.OPEN, Status.RESOLVED)]


@pytest.mark.django_db(transaction=True)
def test_two_workers_storing_one_new_mail_open_one_ticket():
    customer = CustomerFactory()
    results, errors = [], []
    barrier = threading.Barrier(2)

    def store():
        try:
            barrier.wait()
            results.append(services.ticket_receive(customer=customer, channel="email", text="Hi", external_id="<r>"))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=store) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert Ticket.objects.filter(customer=customer).count() == 1
    assert sorted(r.replayed for r in results) == [False, True]


def test_a_customer_reply_is_flagged_in_the_queue_until_an_agent_answers(agent, client):
    # given a ticket assigned to the agent, answered once
    ticket = ticket_create()
    services.ticket_assign(ticket=ticket, assignee=agent, by=agent)
    services.ticket_reply(ticket=ticket, body="Could you send a photo?", by=agent, status=Status.WAITING)
    client.force_login(agent)
    queue = reverse("feedback:queue")
    assert f'data-ticket="{ticket.pk}"' not in client.get(queue, {"queue": "replied"}).content.decode()
    # when the customer writes back (an out-of-office first, which flags nothing)
    services.ticket_receive(
        customer=ticket.customer, ticket=ticket, channel="email", text="留守です", external_id="<ooo>", automatic=True
    )
    ticket.refresh_from_db()
    assert ticket.customer_replied_at is None
    services.ticket_receive(
        customer=ticket.customer, ticket=ticket, channel="email", text="写真です", external_id="<p>"
    )
    # then the ticket is in the "New reply" queue with its badge, and in "mine" with the badge too
    for name in ("replied", "mine"):
        page = client.get(queue, {"queue": name}).content.decode()
        row = page.split(f'data-ticket="{ticket.pk}"', 1)[1].split("</tr>", 1)[0]
        assert 'data-replied="1"' in row
    # and an internal note leaves it flagged, a public reply clears it
    services.ticket_reply(ticket=ticket, body="note", by=agent, public=False)
    ticket.refresh_from_db()
    assert ticket.customer_replied_at is not None
    services.ticket_reply(ticket=ticket, body="Thanks!", by=agent)
    ticket.refresh_from_db()
    assert ticket.customer_replied_at is None
    assert f'data-ticket="{ticket.pk}"' not in client.get(queue, {"queue": "replied"}).content.decode()
