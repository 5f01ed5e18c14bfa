"""Issue 20, point 12: one phone complaint makes one or two timeline entries, not eight; a ticket reply is a support
reply on the timeline, not a retention "Follow-up email"; resolving a ticket is no outbound phone call."""

from __future__ import annotations

import pytest
from django.utils import timezone

from customers import timeline
from feedback import services
from feedback.models import Ticket
from tests.factories import CustomerFactory, UserFactory
from touchpoints.models import Direction, Touchpoint
from touchpoints.outreach.models import OutboundMessage
from touchpoints.outreach.outbox import messages_record_timeline

pytestmark = pytest.mark.django_db


def send_outbox(customer) -> None:
    """What the outbox's sender does once the mail is handed over: mark it sent and record it on the timeline."""
    OutboundMessage.objects.filter(customer=customer).update(status=OutboundMessage.Status.SENT, sent_at=timezone.now())
    messages_record_timeline(list(OutboundMessage.objects.filter(customer=customer)))


@pytest.fixture
def phone_complaint():
    """A customer phones to complain; the agent opens a ticket (with the confirmation mail), replies, resolves."""
    agent = UserFactory(username="agent", role="Support")
    customer = CustomerFactory(family_name="Ito", email="ito@example.com", marketing_consent=True)
    ticket = services.ticket_open(
        customer=customer,
        subject="The lid of the teapot arrived broken",
        body="Called at 10:05, upset.",
        kind=Ticket.Kind.COMPLAINT,
        channel=Ticket.Channel.PHONE,
        by=agent,
        confirm=True,
    )
    services.ticket_reply(ticket=ticket, body="A new lid is on its way.", by=agent, status="resolved")
    send_outbox(customer)
    return customer, ticket, agent


def test_a_phone_complaint_makes_one_or_two_timeline_entries(phone_complaint):
    customer, ticket, agent = phone_complaint

    page = timeline.timeline_page(customer, user=agent)

    # the ticket (opened) and the reply: its opening touchpoint, the confirmation mail, the reply's mail, the
    # resolution and the journey moves they caused are folded into them
    assert [e.kind for e in page.entries] == ["ticket", "ticket"]


def test_a_ticket_reply_is_not_logged_as_a_retention_follow_up_email(phone_complaint):
    customer, ticket, agent = phone_complaint

    assert not Touchpoint.objects.filter(customer=customer, type__slug="follow-up-email").exists()
    reply_mail = OutboundMessage.objects.get(customer=customer, key__startswith="feedback:reply:")
    assert reply_mail.touchpoint_id is None  # the reply is the ticket's "Reply sent" entry
    # the mail is still sent and kept in the outbox, linked to nothing it is not
    assert OutboundMessage.objects.filter(customer=customer, status=OutboundMessage.Status.SENT).count() >= 2


def test_resolving_a_ticket_records_no_outbound_phone_call(phone_complaint):
    customer, ticket, agent = phone_complaint

    assert not Touchpoint.objects.filter(customer=customer, direction=Direction.OUTBOUND, channel="phone").exists()
    # the one touchpoint is the call that did happen: the customer's, inbound
    (call,) = Touchpoint.objects.filter(customer=customer, type__slug="support")
    assert (call.channel, call.direction) == ("phone", Direction.INBOUND)


def test_a_marketing_mail_still_goes_on_the_timeline_as_a_follow_up(db):
    from touchpoints.outreach.outbox import message_enqueue

    customer = CustomerFactory(email="mori@example.com", marketing_consent=True)
    message_enqueue(
        customer=customer,
        key="test:followup:1",
        purpose="transactional",
        subject="Thank you",
        body="Hello",
        channel="email",
    )
    send_outbox(customer)

    assert Touchpoint.objects.filter(customer=customer, type__slug="follow-up-email").count() == 1


def test_the_outbox_sweeper_does_not_retry_a_feedback_mail_kept_off_the_timeline(phone_complaint):
    import datetime as dt

    from touchpoints.outreach.outbox.sweep import outbox_repair_timeline

    customer, ticket, agent = phone_complaint
    later = timezone.now() + dt.timedelta(minutes=10)

    assert outbox_repair_timeline(now=later) == 0
