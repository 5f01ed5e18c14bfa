"""Inbound mail: how many mails one worker ingests per second through a real IMAP server (fetch, store once,
parse, thread into tickets, move), and the ticket page when its conversation is 500 messages on mixed channels
(replies, customers' mails with quoted history and attachments, LINE messages).

Targets: ≥ 50 mails/s for one worker; the ticket page p95 < 40 ms. Needs Debian's dovecot-imapd for the first
(reported as not measured without it). Everything written runs in a transaction that is rolled back.
"""

from __future__ import annotations

import datetime as dt
import os
import time

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer
from feedback.models import Ticket, TicketMessage
from tests.benchmarks.harness import Context, Measurement, benchmark, target
from tests.imap_server import PASSWORD, USER, Dovecot, available
from tests.touchpoints.outreach.mail.fixtures import fixture, plain_mail, with_headers
from touchpoints.outreach.channels.mailbox.fetching import mailbox_fetch
from touchpoints.outreach.models import InboundAttachment, InboundMail, Mailbox

MAILS = int(os.environ.get("BENCH_MAILS") or 500)
INGEST_MIN_PER_S = 50
TICKET_P95_MS = 40
SHAPES = ["outlook_iso2022jp.eml", "iphone_utf8.eml", "carrier_sjis.eml", "html_only.eml", "euc_jp.eml"]


class Rollback(Exception):
    pass


def _mails(count: int) -> list[bytes]:
    """Real shapes, each with a Message-ID of its own; one in five a plain UTF-8 question."""
    mails = []
    for i in range(count):
        if i % 5 == 4:
            mails.append(
                plain_mail(
                    sender=f"bench{i}@example.jp", subject=f"問い合わせ {i}", body="在庫はありますか？",
                    message_id=f"<bench.{i}@example.jp>",
                )
            )  # fmt: skip
        else:
            raw = fixture(SHAPES[i % 4])
            mails.append(with_headers(raw, Message_ID=f"<bench.{i}@example.jp>"))
    return mails


@benchmark("mail")
def mail_ingest(ctx: Context) -> list[Measurement]:
    name = "mail: ingest by one worker (IMAP fetch, store, thread, move)"
    if not available():
        return [Measurement(name=name, note="not measured: needs dovecot-imapd").check(target("≥ 50/s", None, bool))]
    os.environ["TSUNAGU_MAILBOX_BENCH_PASSWORD"] = PASSWORD
    with Dovecot() as server:
        server.append(*_mails(MAILS))
        try:
            with transaction.atomic():
                mailbox = Mailbox.objects.create(
                    name="bench", address="bench-support@tsunagu.example", host="127.0.0.1", port=server.port,
                    use_tls=False, username=USER, processed_folder="Processed",
                )  # fmt: skip
                started = time.perf_counter()
                report = mailbox_fetch(mailbox=mailbox, limit=MAILS)
                elapsed = time.perf_counter() - started
                stored = InboundMail.objects.filter(mailbox=mailbox).count()
                raise Rollback
        except Rollback:
            pass
    rate = report.stored / elapsed if elapsed else 0.0
    m = Measurement(name=name, value=rate, unit="mails/s", note=f"{stored} mails stored, {report.processed} processed")
    return [m.check(target(f"≥ {INGEST_MIN_PER_S} mails/s", rate, lambda v: v >= INGEST_MIN_PER_S))]


def seed_mixed_ticket(messages: int = 500) -> Ticket:
    """A ticket whose conversation has ``messages`` messages: replies, mails (quoted history, attachments on
    every tenth), LINE messages."""
    customer = Customer.objects.order_by("pk").first()
    now = timezone.now()
    ticket = Ticket.objects.create(customer=customer, subject="Bench: mixed channels", body="最初の問い合わせ")
    rows, mails = [], []
    for i in range(messages):
        at = now - dt.timedelta(minutes=messages - i)
        kind = ("reply", "inbound", "inbound")[i % 3]
        channel = "email" if kind == "reply" or i % 2 else "line"
        body = f"メッセージ {i}"
        if kind == "inbound" and channel == "email":
            body += "\n\nOn Mon, Dec 7, 2026 Support <support@tsunagu.example> wrote:\n> 前回の返信\n> 二行目"
            mails.append((f"<mixed.{i}@example.jp>", i % 10 == 1))
        rows.append(
            TicketMessage(
                ticket=ticket, customer=customer, kind=kind, body=body, channel=channel,
                external_id=f"<mixed.{i}@example.jp>" if channel == "email" else f"line-{i}", created_at=at,
            )
        )  # fmt: skip
    TicketMessage.objects.bulk_create(rows)
    for message_id, with_file in mails:
        mail = InboundMail.objects.create(message_id=message_id, raw=b"x", status="processed")
        if with_file:
            InboundAttachment.objects.create(
                mail=mail, filename="写真.jpg", content_type="image/jpeg", size=3, content=b"abc"
            )
    return ticket


@benchmark("mail")
def ticket_page_mixed_channels(ctx: Context) -> list[Measurement]:
    try:
        with transaction.atomic():
            ticket = seed_mixed_ticket()
            m = ctx.time_page(
                "mail: ticket page, 500 mixed-channel messages", reverse("feedback:ticket_detail", args=[ticket.pk])
            )
            raise Rollback
    except Rollback:
        pass
    return [m.check(target(f"p95 < {TICKET_P95_MS} ms", m.p95_ms, lambda v: v < TICKET_P95_MS))]
