"""Email customers send in joins their tickets (feedback/inbound_email.py through the mail channel's ingest):
by the Message-ID it answers, by the signed token of the reply address, by the subject reference only from the
ticket's customer; otherwise a new ticket. Stored once, loops and automatic mail kept out."""

from __future__ import annotations

import pytest

from feedback import services
from feedback.inbound_email import reply_address, reply_token
from feedback.models import Status, Ticket, TicketMessage
from tests.factories import CustomerFactory, UserFactory, ticket_create
from tests.touchpoints.outreach.mail.fixtures import fixture, plain_mail, with_headers
from touchpoints.outreach.channels.mailbox.ingest import mail_process, mail_store
from touchpoints.outreach.channels.mailbox.models import InboundMail, Mailbox
from touchpoints.outreach.models import OutboundMessage

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent():
    return UserFactory(username="agent", role="Support")


@pytest.fixture
def mailbox(agent):
    return Mailbox.objects.create(name="support", address="support@tsunagu.example", host="127.0.0.1", assignee=agent)


def receive(raw: bytes, mailbox=None, **kwargs):
    mail, created = mail_store(raw=raw, mailbox=mailbox, **kwargs)
    status = mail_process(mail_id=mail.pk)
    mail.refresh_from_db()
    return mail, status


def test_a_reply_by_mail_joins_the_ticket_by_in_reply_to_and_moves_it_back_to_open(agent, mailbox):
    # Given a ticket the agent answered and now waits on
    customer = CustomerFactory(email="hanako@example.jp")
    ticket = ticket_create(customer=customer)
    reply = services.ticket_reply(ticket=ticket, body="Could you send a photo?", by=agent, status=Status.WAITING)
    assert reply.external_id.startswith("<") and reply.channel == "email"
    # When the customer answers from their mail client (address in another case, no reference in the subject)
    raw = plain_mail(
        sender="Hanako <HANAKO@example.jp>",
        subject="Re: photo",
        body="Here it is.\n\nOn Mon, Dec 7, 2026 Support <support@tsunagu.example> wrote:\n> Could you send a photo?",
        message_id="<answer.1@example.jp>",
        In_Reply_To=reply.external_id,
    )
    mail, status = receive(raw, mailbox)
    # Then it is a message from the customer on that ticket, which is open again
    assert status == InboundMail.Status.PROCESSED and mail.kind == "message"
    message = TicketMessage.objects.get(ticket=ticket, kind="inbound")
    assert message.external_id == "<answer.1@example.jp>" and message.sender == "hanako@example.jp"
    assert message.body.startswith("Here it is.")
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
    assert "by=references" in mail.result


def test_the_signed_token_in_the_reply_address_threads_and_a_forged_one_does_not(mailbox):
    ticket = ticket_create(customer=CustomerFactory(email="a@example.jp"))
    address = reply_address(ticket.pk)
    assert address == f"support+{reply_token(ticket.pk)}@tsunagu.example"
    receive(plain_mail(sender="other@example.jp", subject="hi", body="From my other address", message_id="<t1@x>",
                       to=address.upper()), mailbox)  # fmt: skip
    assert TicketMessage.objects.filter(ticket=ticket, kind="inbound", body="From my other address").exists()
    forged = f"support+t{ticket.pk}-000000000000@tsunagu.example"
    receive(plain_mail(sender="other@example.jp", subject="hi", body="forged", message_id="<t2@x>", to=forged), mailbox)
    assert not TicketMessage.objects.filter(ticket=ticket, body="forged").exists()
    assert Ticket.objects.filter(body="forged").count() == 1  # a new ticket of its own


def test_the_subject_reference_counts_only_from_the_tickets_customer(mailbox):
    customer = CustomerFactory(email="owner@example.jp")
    ticket = ticket_create(customer=customer)
    subject = f"Re: question [{ticket.reference}]"
    receive(plain_mail(sender="intruder@example.jp", subject=subject, body="let me in", message_id="<s1@x>"), mailbox)
    assert not TicketMessage.objects.filter(ticket=ticket, kind="inbound").exists()
    receive(plain_mail(sender="Owner@Example.jp", subject=subject, body="it is me", message_id="<s2@x>"), mailbox)
    assert TicketMessage.objects.filter(ticket=ticket, kind="inbound", body="it is me").exists()


def test_mail_from_a_stranger_opens_a_ticket_for_a_new_customer_without_consent(agent, mailbox):
    mail, _status = receive(fixture("outlook_iso2022jp.eml"), mailbox)
    ticket = Ticket.objects.get()
    assert ticket.channel == "email" and ticket.subject == "Re: ①交換の件 ㈱つなぐ商事"
    assert ticket.customer.email == "yamada@example.co.jp" and not ticket.customer.marketing_consent
    assert ticket.assignee == agent  # the mailbox's agent
    assert "㈱つなぐ商事の山田です。" in ticket.body
    # The same mail again (a retried fetch) is stored and threaded once
    again, created = mail_store(raw=fixture("outlook_iso2022jp.eml"), mailbox=mailbox)
    assert not created and again.pk == mail.pk
    assert mail_process(mail_id=again.pk) == InboundMail.Status.PROCESSED
    assert Ticket.objects.count() == 1 and InboundMail.objects.count() == 1


def test_an_out_of_office_never_opens_or_reopens_a_ticket(agent, mailbox):
    customer = CustomerFactory(email="yamada@example.co.jp")
    mail, status = receive(fixture("out_of_office.eml"), mailbox)
    assert (status, mail.kind) == (InboundMail.Status.IGNORED, "automatic")
    assert not Ticket.objects.exists()
    # Answering a resolved ticket's reply: kept on the ticket, which stays resolved
    ticket = ticket_create(customer=customer)
    reply = services.ticket_reply(ticket=ticket, body="Done.", by=agent, status=Status.RESOLVED)
    raw = with_headers(fixture("out_of_office.eml"), Message_ID="<ooo.2@example.co.jp>", In_Reply_To=reply.external_id)
    receive(raw, mailbox)
    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED
    assert TicketMessage.objects.filter(ticket=ticket, kind="inbound").count() == 1


def test_tsunagus_own_mail_is_never_ingested(mailbox, settings):
    settings.DEFAULT_FROM_EMAIL = "Tsunagu <no-reply@tsunagu.example>"
    mail, status = receive(plain_mail(sender="no-reply@tsunagu.example", subject="x", body="x", message_id="<o@x>"))
    assert (status, mail.kind) == (InboundMail.Status.IGNORED, "own")
    mail, status = receive(plain_mail(sender="support@tsunagu.example", subject="x", body="x", message_id="<o2@x>"))
    assert mail.kind == "own" and not Ticket.objects.exists()


def test_html_only_mail_is_stored_as_text_and_the_raw_message_is_kept(mailbox):
    mail, _status = receive(fixture("html_only.eml"), mailbox)
    ticket = Ticket.objects.get()
    assert "<" not in ticket.body and "alert" not in ticket.body
    assert bytes(mail.raw) == fixture("html_only.eml")


def test_outbound_ticket_mail_carries_reply_to_message_id_and_auto_submitted(agent, mailbox):
    from touchpoints.outreach.outbox import email_for, message_id_for

    customer = CustomerFactory(email="c@example.jp")
    ticket = ticket_create(customer=customer, confirm=True)
    reply = services.ticket_reply(ticket=ticket, body="Answer", by=agent)
    confirmation = OutboundMessage.objects.get(key=f"feedback:ticket:{ticket.pk}:received")
    mail = email_for(confirmation)
    assert mail.extra_headers["Auto-Submitted"] == "auto-replied"
    assert mail.extra_headers["Reply-To"] == reply_address(ticket.pk)
    answer = email_for(reply.outbound)
    assert "Auto-Submitted" not in answer.extra_headers  # a person wrote it
    assert answer.extra_headers["Message-ID"] == message_id_for(reply.outbox_key) == reply.external_id
    assert answer.extra_headers["Reply-To"] == reply_address(ticket.pk)
