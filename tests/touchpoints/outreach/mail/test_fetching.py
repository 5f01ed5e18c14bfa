"""IMAP fetching against a real dovecot (tests/imap_server.py): mail is stored once, then moved, never deleted
otherwise; a retried fetch, two fetchers at once and a fetcher killed mid-batch all end with every mail stored
exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from django.db import connection, connections

from feedback.models import Ticket, TicketMessage
from tests.celery.processes import database_url, wait_for
from tests.imap_server import PASSWORD, USER, Dovecot, available
from touchpoints.outreach.channels.mailbox.fetching import MailboxError, mailbox_fetch, mailboxes_fetch
from touchpoints.outreach.channels.mailbox.models import InboundMail, Mailbox

from .fixtures import fixture, plain_mail

pytestmark = pytest.mark.skipif(not available(), reason="needs Debian's dovecot-imapd (/usr/sbin/dovecot)")

FIXTURES = ["outlook_iso2022jp.eml", "iphone_utf8.eml", "carrier_sjis.eml", "html_only.eml", "out_of_office.eml"]


@pytest.fixture
def dovecot():
    with Dovecot() as server:
        yield server


@pytest.fixture
def mailbox(dovecot, monkeypatch):
    monkeypatch.setenv("TSUNAGU_MAILBOX_SUPPORT_PASSWORD", PASSWORD)
    return Mailbox.objects.create(
        name="support",
        address="support@tsunagu.example",
        host="127.0.0.1",
        port=dovecot.port,
        use_tls=False,
        username=USER,
        processed_folder="Tsunagu/Processed",
    )


def numbered(count: int, prefix: str = "bulk") -> list[bytes]:
    return [
        plain_mail(
            sender=f"customer{i % 7}@example.jp",
            subject=f"質問 {i}",
            body=f"{i}番目の問い合わせです。",
            message_id=f"<{prefix}.{i}@example.jp>",
        )
        for i in range(count)
    ]


@pytest.mark.django_db
def test_fetch_stores_processes_and_moves_every_fixture(dovecot, mailbox):
    dovecot.append(*(fixture(name) for name in FIXTURES))
    report = mailbox_fetch(mailbox=mailbox)
    assert (report.fetched, report.stored, report.moved) == (5, 5, 5)
    assert dovecot.uids("INBOX") == [] and len(dovecot.uids("Tsunagu/Processed")) == 5  # moved, not deleted
    assert Ticket.objects.count() == 4  # the out-of-office opened none
    subjects = set(Ticket.objects.values_list("subject", flat=True))
    assert {"Re: ①交換の件 ㈱つなぐ商事", "Re: 発送のお知らせ", "商品が届きません", "Re: 今月のお知らせ"} == subjects
    assert InboundMail.objects.get(message_id="<ooo.1@example.co.jp>").status == "ignored"
    mailbox.refresh_from_db()
    assert mailbox.last_error == "" and mailbox.last_fetched_at is not None
    # A second run finds nothing new and changes nothing
    again = mailbox_fetch(mailbox=mailbox)
    assert (again.fetched, again.stored) == (0, 0)
    assert InboundMail.objects.count() == 5 and Ticket.objects.count() == 4


@pytest.mark.django_db
def test_without_a_processed_folder_mail_stays_and_only_new_uids_are_fetched(dovecot, mailbox):
    Mailbox.objects.filter(pk=mailbox.pk).update(processed_folder="")
    mailbox.refresh_from_db()
    dovecot.append(*numbered(3))
    assert mailbox_fetch(mailbox=mailbox).stored == 3
    assert len(dovecot.uids("INBOX")) == 3  # left where it was
    mailbox.refresh_from_db()
    assert mailbox.last_uid == 3 and mailbox.uidvalidity
    dovecot.append(*numbered(4, prefix="later")[3:])
    report = mailbox_fetch(mailbox=mailbox)
    assert (report.fetched, report.stored) == (1, 1)
    # The folder recreated (a new UIDVALIDITY): everything is read again, and nothing stored twice
    Mailbox.objects.filter(pk=mailbox.pk).update(uidvalidity=1)
    mailbox.refresh_from_db()
    report = mailbox_fetch(mailbox=mailbox)
    assert (report.fetched, report.stored, report.already) == (4, 0, 4)
    assert InboundMail.objects.count() == 4


@pytest.mark.django_db
def test_a_wrong_password_is_recorded_on_the_mailbox(dovecot, mailbox, monkeypatch):
    monkeypatch.setenv("TSUNAGU_MAILBOX_SUPPORT_PASSWORD", "wrong")
    with pytest.raises(MailboxError):
        mailbox_fetch(mailbox=mailbox)
    mailbox.refresh_from_db()
    assert mailbox.last_error
    assert mailboxes_fetch()["errors"] == 1


@pytest.mark.django_db(transaction=True)
def test_two_fetchers_at_once_store_every_mail_once(dovecot, mailbox):
    dovecot.append(*numbered(60))
    errors: list[BaseException] = []
    reports = []

    def run():
        try:
            reports.append(mailbox_fetch(mailbox=Mailbox.objects.get(pk=mailbox.pk)))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors
    assert sum(r.stored for r in reports) == 60
    assert InboundMail.objects.count() == 60
    assert TicketMessage.objects.filter(channel="email").exclude(external_id="").count() == 60
    assert Ticket.objects.count() == 60
    assert dovecot.uids("INBOX") == [] and len(dovecot.uids("Tsunagu/Processed")) == 60


@pytest.mark.django_db(transaction=True)
def test_a_fetcher_killed_mid_batch_loses_nothing_and_stores_nothing_twice(dovecot, mailbox):
    total = 200
    dovecot.append(*numbered(total))
    env = {
        **os.environ,
        "DATABASE_URL": database_url(connection.settings_dict),
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "TSUNAGU_MAILBOX_SUPPORT_PASSWORD": PASSWORD,
    }
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "mailbox_fetch", "support"],
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: InboundMail.objects.count() >= 30, timeout=120, interval=0.05, what="the first mails stored")
    finally:
        os.killpg(worker.pid, signal.SIGKILL)  # mid-batch, as a crashed machine would
        worker.wait()
    stored_when_killed = InboundMail.objects.count()
    assert stored_when_killed < total, "the fetcher finished before it was killed: nothing was tested"
    time.sleep(0.2)
    mailbox.refresh_from_db()
    report = mailbox_fetch(mailbox=mailbox)
    assert report.fetched >= total - stored_when_killed
    assert InboundMail.objects.count() == total
    assert InboundMail.objects.filter(status="received").count() == 0
    assert Ticket.objects.count() == total  # each mail one ticket, none twice
    assert TicketMessage.objects.filter(external_id__startswith="<bulk.").count() == total
    assert dovecot.uids("INBOX") == [] and len(dovecot.uids("Tsunagu/Processed")) == total


@pytest.mark.django_db
def test_the_periodic_task_run_twice_stores_each_mail_once(dovecot, mailbox):
    from touchpoints.outreach.tasks import mailboxes_fetch_task

    dovecot.append(*numbered(5))
    first = mailboxes_fetch_task()
    second = mailboxes_fetch_task()
    assert (first["mailboxes"], first["stored"], first["errors"]) == (1, 5, 0)
    assert (second["stored"], second["processed"]) == (0, 0)
    assert InboundMail.objects.count() == 5 and Ticket.objects.count() == 5
