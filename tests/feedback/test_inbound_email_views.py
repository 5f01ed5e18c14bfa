"""What staff see of mail customers sent: the new part of a reply with the quoted history folded away (kept
whole), the attachments listed and downloadable by staff who may read the ticket (as a download, never rendered),
one over the limit named."""

from __future__ import annotations

import pytest
from django.urls import reverse

from feedback import services
from feedback.models import Ticket
from tests.factories import CustomerFactory, UserFactory, ticket_create
from tests.touchpoints.outreach.mail.fixtures import fixture, plain_mail
from tests.touchpoints.outreach.mail.test_ingest import _with_attachments
from touchpoints.outreach.channels.mailbox.ingest import mail_process, mail_store
from touchpoints.outreach.models import InboundAttachment

pytestmark = pytest.mark.django_db
PAYLOAD = "<script>alert(1)</script>"


def receive(raw: bytes):
    stored, _created = mail_store(raw=raw)
    mail_process(mail_id=stored.pk)
    return stored


@pytest.fixture
def agent_client(client):
    client.force_login(UserFactory(username="agent", role="Support"))
    return client


def test_a_reply_shows_its_new_part_and_folds_the_quote(agent_client):
    customer = CustomerFactory(email="sato@example.jp")
    ticket = ticket_create(customer=customer)
    reply = services.ticket_reply(ticket=ticket, body="発送いたしました。", by=None)
    quote = "On Mon, Dec 7, 2026 Support <support@tsunagu.example> wrote:\n> 発送いたしました。"
    body = f"ありがとうございます。{PAYLOAD}\n\n{quote}"
    receive(
        plain_mail(
            sender="sato@example.jp", subject="Re", body=body, message_id="<r1@x>", In_Reply_To=reply.external_id
        )
    )
    page = agent_client.get(reverse("feedback:ticket_detail", args=[ticket.pk])).content.decode()
    assert "ありがとうございます。&lt;script&gt;" in page and PAYLOAD not in page
    assert '<details class="message-quoted' in page and "&gt; 発送いたしました。" in page


def test_a_ticket_opened_by_mail_folds_its_quote(agent_client):
    receive(fixture("outlook_iso2022jp.eml"))
    ticket = Ticket.objects.get()
    page = agent_client.get(reverse("feedback:ticket_detail", args=[ticket.pk])).content.decode()
    new_part = page.split('id="ticket-body">', 1)[1].split("</div>", 1)[0]
    assert "ﾃｽﾄ-001" in new_part and "Original Message" not in new_part
    assert "-----Original Message-----" in page.split('class="message-quoted', 1)[1]


def test_attachments_are_listed_downloaded_as_files_and_refused_ones_named(client, agent_client, settings):
    settings.TSUNAGU_MAIL_ATTACHMENT_MAX_BYTES = 1000
    receive(
        _with_attachments(
            [
                (f"写真{PAYLOAD}.html", "text/html", b"<html><script>alert(1)</script></html>"),
                ("big.pdf", "application/pdf", b"%PDF" + b"x" * 5000),
            ]
        )
    )
    ticket = Ticket.objects.get()
    kept = InboundAttachment.objects.get(refused_reason="")
    page = agent_client.get(reverse("feedback:ticket_detail", args=[ticket.pk])).content.decode()
    url = reverse("feedback:ticket_attachment", args=[ticket.pk, kept.pk])
    assert url in page and "写真&lt;script&gt;" in page and PAYLOAD not in page
    assert "big.pdf" in page and 'data-refused="1"' in page
    response = agent_client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff" and "sandbox" in response["Content-Security-Policy"]
    assert response.content == b"<html><script>alert(1)</script></html>"
    # Not through another ticket, not for a role without tickets, not the refused one
    other = ticket_create()
    assert agent_client.get(reverse("feedback:ticket_attachment", args=[other.pk, kept.pk])).status_code == 404
    refused = InboundAttachment.objects.get(refused_reason="size")
    assert agent_client.get(reverse("feedback:ticket_attachment", args=[ticket.pk, refused.pk])).status_code == 404
    client.force_login(UserFactory(username="m", role="Marketing"))
    assert client.get(url).status_code == 403
    client.logout()
    assert client.get(url).status_code == 302  # to the login page
