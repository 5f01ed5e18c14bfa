"""Email over SMTP with and without PIPELINING (RFC 2920): the envelope (MAIL, RCPT, DATA) goes in one write when
the server offers it, each message still arrives once, a refused recipient fails only its own message, and the
batch's "sent" marks are one statement."""

from __future__ import annotations

import smtplib

import pytest
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from tests.factories import consenting_customer
from tests.smtp_sink import SmtpSink
from touchpoints.outreach import outbox
from touchpoints.outreach.channels.email import Delivery
from touchpoints.outreach.models import OutboundMessage

pytestmark = pytest.mark.django_db

Status = OutboundMessage.Status


def _queue(count: int, noon, tag: str = "p") -> list[OutboundMessage]:
    return [
        outbox.message_enqueue(
            customer=consenting_customer(email=f"{tag}{i}@example.com"),
            key=f"{tag}-{i}",
            purpose="marketing",
            subject="Hello {customer_name}",
            body="Hi {given_name}",
            now=noon,
        )
        for i in range(count)
    ]


def _send(messages, noon, sink) -> outbox.SendReport:
    delivery = Delivery(SMTPBackend(host="127.0.0.1", port=sink.port, timeout=5))
    try:
        return outbox.messages_send(message_ids=[m.pk for m in messages], now=noon, delivery=delivery)
    finally:
        delivery.close()


@pytest.mark.parametrize("pipelining", [True, False])
def test_a_batch_arrives_once_each_whether_the_server_pipelines_or_not(noon, published, monkeypatch, pipelining):
    # given three queued messages and a server that does (or does not) offer PIPELINING
    messages = _queue(3, noon)
    writes = []
    original = smtplib.SMTP.send
    monkeypatch.setattr(smtplib.SMTP, "send", lambda self, s: writes.append(s) or original(self, s))
    with SmtpSink(pipelining=pipelining) as sink:
        # when they are sent over one connection
        report = _send(messages, noon, sink)
        counts = sink.by_message_id()
    # then each arrived once and is marked sent as of its hand-over
    assert report.sent == 3
    assert sorted(counts) == sorted(outbox.message_id_for(f"p-{i}") for i in range(3)) and set(counts.values()) == {1}
    sent = OutboundMessage.objects.filter(status=Status.SENT, handed_over_at__isnull=False, sent_at=F("handed_over_at"))
    assert sent.count() == 3
    # and with PIPELINING each message took three writes (envelope, content, end of data) instead of five
    assert len(writes) == 2 + 3 * (3 if pipelining else 5)  # 2: EHLO and QUIT


@pytest.mark.parametrize("pipelining", [True, False])
def test_a_refused_recipient_fails_only_its_own_message(noon, published, pipelining):
    # given three messages, the server refusing the second one's recipient for good
    messages = _queue(3, noon, tag="r")

    async def refuse_r1(server, session, envelope, address, rcpt_options):
        if address == "r1@example.com":
            return "550 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    with SmtpSink(pipelining=pipelining) as sink:
        sink.controller.handler.handle_RCPT = refuse_r1
        # when the batch is sent
        report = _send(messages, noon, sink)
        counts = sink.by_message_id()
    # then the second failed and the others arrived, once each, over the same connection
    statuses = [m.status for m in OutboundMessage.objects.filter(pk__in=[m.pk for m in messages]).order_by("pk")]
    assert statuses == [Status.SENT, Status.FAILED, Status.SENT]
    assert (report.sent, report.failed) == (2, 1)
    assert sorted(counts) == sorted(outbox.message_id_for(f"r-{i}") for i in (0, 2)) and set(counts.values()) == {1}
    assert "550" in OutboundMessage.objects.get(pk=messages[1].pk).last_error


def test_a_batch_is_marked_sent_in_one_statement(noon, published):
    # given a batch of six messages
    messages = _queue(6, noon, tag="s")
    with SmtpSink() as sink, CaptureQueriesContext(connection) as queries:
        # when it is sent
        report = _send(messages, noon, sink)
    # then one statement marked them all sent (a worker killed before it leaves them to the sweeper, handed over)
    marks = [q["sql"] for q in queries if q["sql"].startswith("UPDATE") and "SET \"status\" = 'sent'" in q["sql"]]
    assert report.sent == 6 and len(marks) == 1
    assert OutboundMessage.objects.filter(status=Status.SENT).count() == 6
