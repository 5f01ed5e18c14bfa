"""A conversation that continues by email, in a real headless Chromium: support replies on the ticket page, the
reply leaves through a real SMTP server (tests/smtp_sink.py), the customer answers it from their mail client
(the answer lands in a real dovecot), the fetcher stores and threads it, and the answer is on the ticket, with
its quoted history folded, and the ticket is back in the agent's queue as open."""

from __future__ import annotations

import pytest
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.urls import reverse
from playwright.sync_api import expect

from feedback.models import Ticket, TicketMessage
from tests.e2e.helpers import log_in
from tests.e2e.test_feedback_flow import feedback_world  # noqa: F401 (the fixture)
from tests.factories import CustomerFactory, UserFactory, ticket_create
from tests.imap_server import PASSWORD, USER, Dovecot, available
from tests.smtp_sink import SmtpSink
from tests.touchpoints.outreach.mail.fixtures import plain_mail
from touchpoints.outreach import outbox
from touchpoints.outreach.channels.email import Delivery
from touchpoints.outreach.channels.mailbox.fetching import mailbox_fetch
from touchpoints.outreach.models import Mailbox

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(not available(), reason="needs Debian's dovecot-imapd")]

PAYLOAD = "<img src=x onerror=alert(1)>"
QUOTE = "2026年12月7日 10:00 Tsunagu <no-reply@tsunagu.example>:\n> 写真を送っていただけますか？"


def test_agent_replies_customer_answers_by_mail_and_it_is_on_the_ticket_and_in_the_queue(
    page,
    live_server,
    feedback_world,  # noqa: F811 (the imported fixture)
    problems,
    settings,
    monkeypatch,
):
    settings.DEFAULT_FROM_EMAIL = "Tsunagu <no-reply@tsunagu.example>"
    agent = UserFactory(username="support-mail", first_name="Sachiko", last_name="Support", role="Support")
    customer = CustomerFactory(email="hanako@example.jp", family_name="Sato", given_name="Hanako")
    ticket = ticket_create(customer=customer, subject="ケトルの蓋が閉まらない", body="先週買いました。", assignee=agent)
    with Dovecot() as imap, SmtpSink() as smtp:
        monkeypatch.setenv("TSUNAGU_MAILBOX_SUPPORT_PASSWORD", PASSWORD)
        mailbox = Mailbox.objects.create(
            name="support", address="support@tsunagu.example", host="127.0.0.1", port=imap.port, use_tls=False,
            username=USER, processed_folder="Processed",
        )  # fmt: skip

        # given: the agent replies on the ticket page and waits on the customer
        log_in(page, live_server, "support-mail")
        page.goto(live_server.url + reverse("feedback:ticket_detail", args=[ticket.pk]))
        page.locator("#reply-body").fill("写真を送っていただけますか？")
        page.locator("#reply-submit").click()
        expect(page.locator("#conversation .message-reply")).to_contain_text("写真を送っていただけますか")
        page.locator("#status-actions button[data-status='waiting']").click()
        expect(page.locator("#ticket-status")).to_have_text("Waiting on customer")

        # and: the reply leaves through a real SMTP server, with a Reply-To leading back to the ticket
        reply = TicketMessage.objects.get(ticket=ticket, kind="reply")
        delivery = Delivery(SMTPBackend(host="127.0.0.1", port=smtp.port, timeout=5))
        assert outbox.messages_send(message_ids=[reply.outbound_id], delivery=delivery).sent == 1
        delivery.close()
        (sent,) = smtp.handler.received
        assert sent.headers["reply-to"].startswith("support+t") and "auto-submitted" not in sent.headers

        # when: the customer answers it from their mail client, quoting it, and the fetcher runs
        answer = plain_mail(
            sender="Hanako Sato <Hanako@Example.jp>",
            to=sent.headers["reply-to"],
            subject="Re: ケトルの蓋",
            body=f"写真を添付します。{PAYLOAD}\n\n{QUOTE}",
            message_id="<answer.e2e@example.jp>",
            In_Reply_To=sent.message_id,
        )
        imap.append(answer)
        assert mailbox_fetch(mailbox=mailbox).processed == 1

    # then: the answer is on the ticket, its quote folded, and the ticket is open again
    page.reload()
    inbound = page.locator("#conversation .message-inbound")
    expect(inbound).to_contain_text(f"写真を添付します。{PAYLOAD}")
    expect(inbound.locator(".message-body").first).not_to_contain_text("写真を送っていただけますか")
    expect(inbound.locator("details.message-quoted")).not_to_have_attribute("open", "")
    expect(page.locator("#ticket-status")).to_have_text("Open")
    # and: it is in the agent's queue
    page.goto(live_server.url + reverse("feedback:queue") + "?queue=mine")
    row = page.locator(f"#ticket-table tr[data-ticket='{ticket.pk}']")
    expect(row).to_be_visible()
    expect(row.locator("[data-replied]")).to_have_text("New reply")  # flagged until an agent answers
    page.goto(live_server.url + reverse("feedback:queue") + "?queue=replied")
    expect(page.locator(f"#ticket-table tr[data-ticket='{ticket.pk}'] [data-replied]")).to_be_visible()
    assert Ticket.objects.get(pk=ticket.pk).status == "open"
    assert page.locator("main img[src='x']").count() == 0
    assert problems == []
