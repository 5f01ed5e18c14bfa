"""The frequency cap holds under concurrency: two dispatchers or send tasks handling one customer at the same
instant let one marketing message through, never two. Real threads, each with its own PostgreSQL connection."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core import mail
from django.db import connections
from django.utils import timezone

from tests.factories import FollowUpRuleFactory, MessageTemplateFactory, consenting_customer
from touchpoints.outreach import outbox, rules
from touchpoints.outreach.models import FollowUp, OutboundMessage

Status = OutboundMessage.Status
Skip = OutboundMessage.SkipReason
THREADS = 8


@pytest.fixture(autouse=True)
def _any_hour(settings):
    settings.TSUNAGU_QUIET_HOURS = ""
    rules.rules_changed()
    yield
    rules.rules_changed()


def at_once(work: Callable[[int], object], n: int = THREADS) -> list:
    """Run ``work(i)`` for i in 0..n-1 in n threads released together, each on its own connection."""
    start = threading.Barrier(n)

    def run(i: int):
        try:
            start.wait()
            return work(i)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


def schedule(rule, customer, n: int) -> list[FollowUp]:
    now = timezone.now()
    return [
        FollowUp.objects.create(
            rule=rule, customer=customer, trigger_key=f"t{i}", triggered_at=now, due_at=now - dt.timedelta(minutes=1)
        )
        for i in range(n)
    ]


@pytest.mark.django_db(transaction=True)
def test_concurrent_dispatchers_and_senders_let_one_marketing_message_through(published):
    # given: a customer with 8 due follow-ups of a marketing rule capped at one message a week
    customer = consenting_customer(email="hanako@example.com")
    rule = FollowUpRuleFactory(cap_days=7, template=MessageTemplateFactory(purpose="marketing"))
    schedule(rule, customer, THREADS)

    # when: 8 dispatchers run at the same instant (one follow-up each), then 8 send tasks, one message each
    at_once(lambda i: rules.followups_dispatch(chunk=1, limit=1))
    ids = sorted(OutboundMessage.objects.filter(customer=customer).values_list("pk", flat=True))
    assert len(ids) == THREADS
    reports = at_once(lambda i: outbox.messages_send(message_ids=[ids[i]]))

    # then: one message went out; the others were skipped for the cap (at enqueue or at sending)
    statuses = sorted(OutboundMessage.objects.filter(customer=customer).values_list("status", "skip_reason"))
    assert statuses.count((Status.SENT, "")) == 1, statuses
    assert statuses.count((Status.SKIPPED, Skip.CAPPED)) == THREADS - 1, statuses
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["hanako@example.com"]
    assert sum(r.sent for r in reports) == 1
    outcomes = sorted(FollowUp.objects.values_list("outcome", flat=True))
    assert outcomes == sorted([FollowUp.Outcome.MESSAGE] + [FollowUp.Outcome.CAPPED] * (THREADS - 1))


@pytest.mark.django_db(transaction=True)
def test_queued_messages_sent_at_the_same_instant_let_one_through_and_transactional_mail_is_not_capped(published):
    # given: 8 queued marketing messages of a capped rule for one customer (their enqueue raced: none was
    # capped), and 8 transactional messages from a capped rule to the same customer
    customer = consenting_customer(email="hanako@example.com")
    marketing = FollowUpRuleFactory(cap_days=7, template=MessageTemplateFactory(purpose="marketing"))
    transactional = FollowUpRuleFactory(cap_days=7, template=MessageTemplateFactory(purpose="transactional"))
    now = timezone.now()
    built = [
        outbox.message_build(
            customer=customer,
            key=f"followup:{f.pk}",
            purpose=f.rule.template.purpose,
            template=f.rule.template,
            now=now,
            followup_id=f.pk,
        )
        for f in schedule(marketing, customer, THREADS) + schedule(transactional, customer, THREADS)
    ]
    ids = outbox.messages_insert(built, now=now)
    assert len(ids) == 2 * THREADS

    # when: 16 send tasks run at the same instant, one message each
    at_once(lambda i: outbox.messages_send(message_ids=[ids[i]]), n=2 * THREADS)

    # then: one marketing message and every transactional one went out
    rows = OutboundMessage.objects.filter(customer=customer)
    assert rows.filter(purpose="marketing", status=Status.SENT).count() == 1
    assert rows.filter(purpose="marketing", status=Status.SKIPPED, skip_reason=Skip.CAPPED).count() == THREADS - 1
    assert rows.filter(purpose="transactional", status=Status.SENT).count() == THREADS
    assert len(mail.outbox) == THREADS + 1


@pytest.mark.django_db
def test_one_send_batch_with_two_capped_messages_for_one_customer_sends_the_first(published):
    customer = consenting_customer()
    rule = FollowUpRuleFactory(cap_days=3, template=MessageTemplateFactory(purpose="marketing"))
    now = timezone.now()
    built = [
        outbox.message_build(
            customer=customer,
            key=f"followup:{f.pk}",
            purpose="marketing",
            template=rule.template,
            now=now,
            followup_id=f.pk,
        )
        for f in schedule(rule, customer, 2)
    ]
    first, second = outbox.messages_insert(built, now=now)

    report = outbox.messages_send(message_ids=[first, second])

    assert (report.sent, report.capped) == (1, 1)
    assert OutboundMessage.objects.get(pk=first).status == Status.SENT
    assert OutboundMessage.objects.get(pk=second).skip_reason == Skip.CAPPED


@pytest.mark.django_db
def test_the_cap_at_sending_counts_mail_sent_within_the_window_only(published):
    # given: a marketing message sent 4 days ago, and two queued capped messages (caps of 7 and 3 days)
    customer = consenting_customer()
    now = timezone.now()
    old = outbox.message_enqueue(customer=customer, key="old", purpose="marketing", body="Hi", now=now)
    OutboundMessage.objects.filter(pk=old.pk).update(status=Status.SENT, sent_at=now - dt.timedelta(days=4))
    week = FollowUpRuleFactory(cap_days=7, template=MessageTemplateFactory(purpose="marketing"))
    three = FollowUpRuleFactory(cap_days=3, template=MessageTemplateFactory(purpose="marketing"))
    ids = {}
    for rule in (week, three):
        (f,) = schedule(rule, customer, 1)
        message = outbox.message_build(
            customer=customer,
            key=f"followup:{f.pk}",
            purpose="marketing",
            template=rule.template,
            now=now,
            followup_id=f.pk,
        )
        ids[rule.cap_days] = outbox.messages_insert([message], now=now)[0]

    # when: each is sent on its own
    week_report = outbox.messages_send(message_ids=[ids[7]])
    three_report = outbox.messages_send(message_ids=[ids[3]])

    # then: the weekly cap stops its message; the three-day one goes (the last mail was four days ago)
    assert (week_report.capped, three_report.sent) == (1, 1)
    assert OutboundMessage.objects.get(pk=ids[7]).skip_reason == Skip.CAPPED
