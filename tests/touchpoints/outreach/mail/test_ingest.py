"""What the mail channel handles itself: bounces (the outbound message marked, a permanent failure stops mail to
the address: the outbox skips it as "bounced"), unsubscribe requests to the List-Unsubscribe mailbox, attachments
within limits, and a processing failure that keeps the mail for a retry."""

from __future__ import annotations

import pytest
from django.core import mail as django_mail

from customers.models import Customer
from feedback.models import Ticket
from tests.factories import CustomerFactory, consenting_customer
from touchpoints.models import Touchpoint
from touchpoints.outreach import inbound, outbox
from touchpoints.outreach.channels.mailbox.ingest import (
    mail_process,
    mail_store,
    mails_process,
    mails_process_pending,
    mails_store,
)
from touchpoints.outreach.channels.mailbox.models import (
    BouncedAddress,
    DeliveryReport,
    InboundAttachment,
    InboundMail,
    Mailbox,
)
from touchpoints.outreach.models import OutboundMessage

from .fixtures import fixture, plain_mail

pytestmark = pytest.mark.django_db


def receive(raw: bytes, mailbox=None):
    stored, _created = mail_store(raw=raw, mailbox=mailbox)
    mail_process(mail_id=stored.pk)
    stored.refresh_from_db()
    return stored


def sent_to(customer, key, noon):
    message = outbox.message_enqueue(customer=customer, key=key, purpose="transactional", body="Receipt", now=noon)
    outbox.messages_send(message_ids=[message.pk], now=noon)
    message.refresh_from_db()
    assert message.status == "sent"
    return message


def test_a_permanent_bounce_marks_the_message_and_stops_mail_to_the_address(noon, published):
    # Given a receipt sent to an address that no longer exists
    customer = consenting_customer(email="Gone@example.jp")
    other = sent_to(customer, "receipt-0", noon)
    message = sent_to(customer, "receipt-1", noon)
    # When its delivery report comes back naming the receipt's Message-ID
    raw = fixture("bounce_permanent.eml").replace(b"<ORIGINAL>", outbox.message_id_for("receipt-1").encode())
    stored = receive(raw)
    # Then that message (and no other) is bounced, the address is blocked, and the next message is skipped
    assert (stored.status, stored.kind) == ("processed", "bounce")
    (report,) = DeliveryReport.objects.all()
    assert report.outbound == message and report.permanent and report.status_code == "5.1.1"
    assert not other.delivery_reports.exists()
    assert BouncedAddress.objects.filter(address="gone@example.jp").exists()
    later = outbox.message_enqueue(customer=customer, key="receipt-2", purpose="transactional", body="x", now=noon)
    outbox.messages_send(message_ids=[later.pk], now=noon)
    later.refresh_from_db()
    assert (later.status, later.skip_reason) == ("skipped", OutboundMessage.SkipReason.BOUNCED)
    # The same report again changes nothing
    assert receive(raw).pk == stored.pk and BouncedAddress.objects.count() == 1


def test_a_temporary_failure_marks_the_message_but_keeps_the_address(noon, published):
    customer = consenting_customer(email="gone@example.jp")
    message = sent_to(customer, "receipt-1", noon)
    raw = fixture("bounce_temporary.eml").replace(b"<ORIGINAL>", outbox.message_id_for("receipt-1").encode())
    receive(raw)
    (report,) = message.delivery_reports.all()
    assert not report.permanent and report.status_code == "4.2.2"
    assert not BouncedAddress.objects.exists()


def test_a_mail_to_the_unsubscribe_mailbox_withdraws_consent(noon, published, settings):
    settings.TSUNAGU_UNSUBSCRIBE_MAILTO = "unsubscribe@tsunagu.example"
    mailbox = Mailbox.objects.create(
        name="unsubscribe", address="unsubscribe@tsunagu.example", purpose=Mailbox.Purpose.UNSUBSCRIBE
    )
    customer = consenting_customer()
    queued = outbox.message_enqueue(customer=customer, key="news", purpose="marketing", body="News", now=noon)
    # The mailto: of the List-Unsubscribe header a mail client follows: its subject carries the signed token
    sent = outbox.message_enqueue(customer=customer, key="news-0", purpose="marketing", body="Old news", now=noon)
    outbox.messages_send(message_ids=[sent.pk], now=noon)
    mailto = django_mail.outbox[-1].extra_headers["List-Unsubscribe"].split("<mailto:", 1)[1].rstrip(">")
    subject = mailto.split("?subject=", 1)[1].replace("%20", " ").replace("%3A", ":")
    stored = receive(
        plain_mail(sender="someone-else@example.jp", subject=subject, body="", message_id="<u1@x>",
                   to="unsubscribe@tsunagu.example"),
        mailbox,
    )  # fmt: skip
    customer.refresh_from_db()
    queued.refresh_from_db()
    assert (stored.status, stored.kind) == ("processed", "unsubscribe")
    assert not customer.marketing_consent and customer.consent_source == "unsubscribe"
    assert (queued.status, queued.skip_reason) == ("skipped", "opted_out")


def test_an_unsubscribe_mail_without_a_valid_token_withdraws_nothing_and_is_kept_for_staff(published):
    # given a consenting customer, and mails to the unsubscribe mailbox in their name (From is anyone's to forge)
    mailbox = Mailbox.objects.create(name="u", address="unsubscribe@tsunagu.example", purpose="unsubscribe")
    customer = consenting_customer(email="reader@example.jp")
    forged_token = outbox.unsubscribe_token(customer.pk)[:-4] + "AAAA"
    # when one has no token and one a token whose signature is wrong
    plain = receive(
        plain_mail(sender="READER@example.jp", subject="unsubscribe", body="stop", message_id="<u2@x>"), mailbox
    )
    forged = receive(
        plain_mail(sender="reader@example.jp", subject=f"unsubscribe {forged_token}", body="", message_id="<u3@x>"),
        mailbox,
    )
    # then consent stays, and both mails are recorded as unsubscribe requests staff can review
    customer.refresh_from_db()
    assert customer.marketing_consent
    for stored in (plain, forged):
        assert (stored.status, stored.kind) == ("ignored", "unsubscribe")
        assert "no valid token" in stored.result


def _with_attachments(parts: list[tuple[str, str, bytes]]) -> bytes:
    from email.mime.application import MIMEApplication
    from email.mime.multipart import MIMEMultipart
    from email.mime.text import MIMEText

    message = MIMEMultipart()
    message["From"] = "photo@example.jp"
    message["To"] = "support@tsunagu.example"
    message["Subject"] = "写真を送ります"
    message["Message-ID"] = "<attach.1@example.jp>"
    message.attach(MIMEText("写真です。", "plain", "utf-8"))
    for filename, ctype, data in parts:
        part = MIMEApplication(data, _subtype=ctype.split("/")[1])
        part.replace_header("Content-Type", ctype)
        part.add_header("Content-Disposition", "attachment", filename=("utf-8", "", filename))
        message.attach(part)
    return message.as_bytes()


def test_attachments_are_kept_within_limits_and_the_rest_named(settings):
    settings.TSUNAGU_MAIL_ATTACHMENT_MAX_BYTES = 1000
    seen: list[inbound.Inbound] = []
    inbound._handlers.insert(0, seen.append)  # first, and claiming nothing (append returns None)
    try:
        raw = _with_attachments(
            [
                ("傷の写真.jpg", "image/jpeg", b"\xff\xd8" + b"x" * 500),
                ("big.pdf", "application/pdf", b"%PDF" + b"x" * 5000),
                ("invoice.exe", "application/octet-stream", b"MZ" + b"x" * 10),
            ]
        )
        stored = receive(raw)
    finally:
        inbound._handlers.remove(seen.append)
    rows = {a.filename: a for a in stored.attachments.all()}
    assert set(rows) == {"傷の写真.jpg", "big.pdf", "invoice.exe"}
    assert bytes(rows["傷の写真.jpg"].content).startswith(b"\xff\xd8") and rows["傷の写真.jpg"].refused_reason == ""
    assert rows["big.pdf"].content is None and "size" in rows["big.pdf"].refused_reason
    assert rows["invoice.exe"].content is None and rows["invoice.exe"].refused_reason
    names = {a.filename: a for a in seen[-1].attachments}
    assert names["big.pdf"].refused_reason and names["傷の写真.jpg"].stored_name.startswith("inboundattachment:")


def test_a_failing_handler_keeps_the_mail_for_a_retry():
    calls = []

    def broken(message):
        calls.append(message)
        raise RuntimeError("the database went away")

    inbound._handlers.insert(0, broken)
    try:
        stored = receive(plain_mail(sender="a@example.jp", subject="x", body="x", message_id="<f1@x>"))
        assert stored.status == "received" and "went away" in stored.error and stored.attempts == 1
    finally:
        inbound._handlers.remove(broken)
    assert mails_process_pending() == 1
    stored.refresh_from_db()
    assert stored.status == "processed" and stored.error == ""
    assert InboundMail.objects.count() == 1 and CustomerFactory._meta.model.objects.filter(email="a@example.jp")


def test_the_customer_page_says_the_address_bounces(client, noon, published):
    from tests.factories import UserFactory

    customer = consenting_customer(email="gone@example.jp")
    sent_to(customer, "receipt-1", noon)
    client.force_login(UserFactory(username="m", role="Marketing"))
    assert 'id="outreach-bounced"' not in client.get(customer.get_absolute_url()).content.decode()
    receive(fixture("bounce_permanent.eml").replace(b"<ORIGINAL>", outbox.message_id_for("receipt-1").encode()))
    page = client.get(customer.get_absolute_url()).content.decode()
    assert 'id="outreach-bounced"' in page and "5.1.1" in page


def test_a_batch_of_new_mail_reads_settings_once_and_stays_within_a_query_budget(
    published, django_assert_max_num_queries
):
    # given ten stored mails from ten new senders (each opens a ticket) and ten from customers on file (each a new
    # ticket too), as one fetched batch
    mailbox = Mailbox.objects.create(name="support", address="support@tsunagu.example")
    for i in range(10):
        CustomerFactory(email=f"known{i}@example.jp")

    def store(sender, i):
        raw = plain_mail(sender=sender, subject=f"質問 {i}", body="在庫は？", message_id=f"<q{i}@x>")
        return mail_store(raw=raw, mailbox=mailbox, uidvalidity=1, uid=i + 1)[0]

    first = store("first@example.jp", 99)
    mail_process(mail_id=first.pk)  # the first ticket of a test database creates its catalogue rows
    new = [store(f"new{i}@example.jp", i) for i in range(10)]
    known = [store(f"known{i}@example.jp", 10 + i) for i in range(10)]
    # when the batch is processed: one transaction, one savepoint per mail, the touchpoints in one bulk write, the
    # policy, calendar, own addresses and touchpoint type read once. A customer on file costs 7 statements (its
    # savepoint and release, the sender, the stored-before check, the ticket key's, the ticket, its message), a new
    # sender ~14 (the customer's, with customer_create's savepoints); ~25 statements a batch (the claim, the settings,
    # the touchpoints and journeys, the outcomes). Was ~27 and ~41 a mail.
    with inbound.batch(), django_assert_max_num_queries(10 * 7 + 10 * 14 + 25):
        statuses = mails_process(mails=[(mail.pk, None) for mail in known + new])
    # then every mail opened its own ticket, with its touchpoint
    assert set(statuses.values()) == {"processed"}
    assert InboundMail.objects.filter(status="processed").count() == 21
    assert Touchpoint.objects.filter(type__slug="support", summary__contains="質問").count() == 21


def test_a_fetched_batch_is_stored_once_even_when_it_repeats_itself(published):
    # given a mail stored before, and a batch holding it again (another UID), a new mail twice and a new one with a
    # file
    from touchpoints.outreach.channels.mailbox.parsing import parse

    mailbox = Mailbox.objects.create(name="support", address="support@tsunagu.example")
    old = plain_mail(sender="a@example.jp", subject="古い", body="x", message_id="<old@x>")
    mail_store(raw=old, mailbox=mailbox, uidvalidity=7, uid=1)
    again = plain_mail(sender="b@example.jp", subject="二度", body="x", message_id="<twice@x>")
    with_file = fixture("iphone_utf8.eml")
    batch = [(2, old), (3, again), (4, again), (5, with_file)]
    # when the batch is stored (twice: a retried fetch)
    first = mails_store(mails=[(uid, raw, parse(raw)) for uid, raw in batch], mailbox=mailbox, uidvalidity=7)
    second = mails_store(mails=[(uid, raw, parse(raw)) for uid, raw in batch], mailbox=mailbox, uidvalidity=7)
    # then each Message-ID is one row, only the new ones say they were stored now, and the file is kept with its mail
    assert [created for _mail, created in first] == [False, True, False, True]
    assert not any(created for _mail, created in second)
    assert first[1][0].pk == first[2][0].pk == second[2][0].pk
    assert InboundMail.objects.count() == 3
    assert InboundAttachment.objects.filter(mail=first[3][0]).exists() == bool(parse(with_file).attachments)


def test_one_bad_mail_in_a_batch_rolls_back_alone_and_is_retried(published):
    # given a batch of three mails where handling the second fails
    mailbox = Mailbox.objects.create(name="support", address="support@tsunagu.example")
    stored = [
        mail_store(
            raw=plain_mail(sender=f"b{i}@example.jp", subject=f"件名 {i}", body="本文", message_id=f"<b{i}@x>"),
            mailbox=mailbox,
            uidvalidity=1,
            uid=i + 1,
        )[0]
        for i in range(3)
    ]

    def broken(message):
        if message.external_id == "<b1@x>":
            Customer.objects.create(family_name="half-written", email="half@example.jp")  # rolled back with it
            raise RuntimeError("the handler broke")
        return None

    inbound._handlers.insert(0, broken)
    try:
        with inbound.batch():
            statuses = mails_process(mails=[(mail.pk, None) for mail in stored])
    finally:
        inbound._handlers.remove(broken)
    # then the others opened their tickets (and their touchpoints), the bad one is kept with its error, nothing of
    # it is written
    assert statuses == {stored[0].pk: "processed", stored[1].pk: "received", stored[2].pk: "processed"}
    bad = InboundMail.objects.get(pk=stored[1].pk)
    assert bad.attempts == 1 and "handler broke" in bad.error
    assert not Customer.objects.filter(email="half@example.jp").exists()
    assert set(Ticket.objects.values_list("subject", flat=True)) == {"件名 0", "件名 2"}
    assert Touchpoint.objects.filter(type__slug="support").count() == 2
    # and the retry threads it once; a second run changes nothing
    assert mails_process_pending() == 1
    assert mails_process_pending() == 0
    assert Ticket.objects.filter(subject="件名 1").count() == 1
    assert Touchpoint.objects.filter(type__slug="support").count() == 3


def test_the_nightly_job_drops_old_raw_mail_but_keeps_the_conversation(settings, published):
    # given a mail received 400 days ago that opened a ticket, one from yesterday, and an old one not processed yet
    import datetime as dt

    from django.utils import timezone

    from feedback.models import TicketMessage
    from touchpoints.outreach.tasks import mails_raw_drop_task

    settings.TSUNAGU_INBOUND_RAW_RETENTION_DAYS = 365
    now = timezone.now()
    old = receive(plain_mail(sender="old@example.jp", subject="古い", body="一年以上前", message_id="<old@x>"))
    recent = receive(plain_mail(sender="new@example.jp", subject="新しい", body="昨日", message_id="<new@x>"))
    waiting, _ = mail_store(raw=plain_mail(sender="w@example.jp", subject="w", body="w", message_id="<w@x>"))
    InboundMail.objects.filter(pk__in=[old.pk, waiting.pk]).update(received_at=now - dt.timedelta(days=400))
    InboundMail.objects.filter(pk=recent.pk).update(received_at=now - dt.timedelta(days=1))
    # when the nightly job runs (twice: the second changes nothing)
    assert mails_raw_drop_task() == 1
    assert mails_raw_drop_task() == 0
    # then only the old processed mail lost its bytes; its message on the ticket is whole
    old.refresh_from_db(), recent.refresh_from_db(), waiting.refresh_from_db()
    assert bytes(old.raw) == b"" and old.raw_dropped_at is not None and old.size > 0
    assert bytes(recent.raw) and bytes(waiting.raw) and recent.raw_dropped_at is None
    assert TicketMessage.objects.get(external_id="<old@x>").ticket.body == "一年以上前"  # it opened the ticket
    # and 0 keeps raw mail for ever
    settings.TSUNAGU_INBOUND_RAW_RETENTION_DAYS = 0
    InboundMail.objects.filter(pk=recent.pk).update(received_at=now - dt.timedelta(days=4000))
    assert mails_raw_drop_task() == 0
