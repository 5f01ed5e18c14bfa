"""The SLA job: warnings before and at a breach, once per ticket and kind, to the assignee and managers."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.db import IntegrityError

from feedback import services
from feedback.models import SlaWarning, Ticket
from feedback.tasks import sla_check_task
from tests.factories import UserFactory, ticket_create
from tests.feedback.conftest import local

pytestmark = pytest.mark.django_db

WEDNESDAY = dt.date(2025, 11, 26)
OPENED = local(WEDNESDAY, 10)  # normal priority: first response due Thursday 10:00, warned from 08:00 (2 h before)
FIRST_DUE = local(WEDNESDAY + dt.timedelta(days=1), 10)


@pytest.fixture
def staff():
    return {
        "agent": UserFactory(username="agent", email="agent@example.com", role="Support"),
        "boss": UserFactory(username="boss", email="boss@example.com", role="Manager"),
        "boss2": UserFactory(username="boss2", email="boss2@example.com", role="Manager"),
    }


def kinds(ticket: Ticket) -> list[str]:
    return sorted(SlaWarning.objects.filter(ticket=ticket).values_list("kind", flat=True))


def recipients() -> list[str]:
    return sorted(address for message in mail.outbox for address in message.to)


def test_nothing_is_said_before_the_warning_window(staff):
    ticket = ticket_create(assignee=staff["agent"], now=OPENED)
    result = services.sla_check(now=FIRST_DUE - dt.timedelta(hours=3))
    assert result.warned_soon == 0 and kinds(ticket) == [] and mail.outbox == []


def test_in_the_window_the_assignee_and_managers_are_warned_once(staff):
    # given: a ticket assigned to an agent, its first response due Thursday 10:00
    ticket = ticket_create(assignee=staff["agent"], now=OPENED)
    # when: the job runs at 08:30 and again at 08:31
    first = services.sla_check(now=FIRST_DUE - dt.timedelta(minutes=90))
    second = services.sla_check(now=FIRST_DUE - dt.timedelta(minutes=89))
    # then: one warning, one mail each to the agent and both managers; the second run changes nothing
    assert kinds(ticket) == ["first_response_soon"]
    assert first.warned_soon == 1 and first.notified_warnings == 1 and first.emails == 3
    assert second.as_dict() == dict.fromkeys(second.as_dict(), 0)
    assert recipients() == ["agent@example.com", "boss2@example.com", "boss@example.com"]
    assert ticket.reference in mail.outbox[0].body and "First response due soon" in mail.outbox[0].body


def test_at_the_breach_the_flag_is_set_and_warned_once(staff):
    # given: the soon warning was sent
    ticket = ticket_create(assignee=staff["agent"], now=OPENED)
    services.sla_check(now=FIRST_DUE - dt.timedelta(minutes=30))
    mail.outbox.clear()
    # when: the job runs after the deadline, twice
    first = services.sla_check(now=FIRST_DUE + dt.timedelta(minutes=1))
    second = services.sla_check(now=FIRST_DUE + dt.timedelta(minutes=2))
    # then
    ticket.refresh_from_db()
    assert ticket.first_response_breached and not ticket.resolution_breached
    assert kinds(ticket) == ["first_response_breached", "first_response_soon"]
    assert first.first_response_breaches == 1 and second.first_response_breaches == 0
    assert len(mail.outbox) == 3 and "overdue" in mail.outbox[0].subject


def test_a_job_that_missed_the_window_sends_the_breach_only(staff):
    ticket = ticket_create(assignee=staff["agent"], now=OPENED)
    services.sla_check(now=FIRST_DUE + dt.timedelta(hours=1))
    assert kinds(ticket) == ["first_response_breached"]


def test_unassigned_tickets_warn_the_managers(staff):
    ticket_create(now=OPENED)
    services.sla_check(now=FIRST_DUE + dt.timedelta(minutes=1))
    assert recipients() == ["boss2@example.com", "boss@example.com"]


def test_a_manager_assignee_gets_one_mail(staff):
    ticket_create(assignee=staff["boss"], now=OPENED)
    services.sla_check(now=FIRST_DUE + dt.timedelta(minutes=1))
    assert recipients() == ["boss2@example.com", "boss@example.com"]


def test_one_digest_per_recipient_for_many_tickets(staff):
    for _ in range(3):
        ticket_create(assignee=staff["agent"], now=OPENED)
    result = services.sla_check(now=FIRST_DUE + dt.timedelta(minutes=1))
    assert result.first_response_breaches == 3 and result.emails == 3
    assert "3 tickets need attention" in mail.outbox[0].subject


def test_answered_waiting_and_resolved_tickets_are_not_warned_about_first_response(staff):
    answered = ticket_create(now=OPENED)
    services.ticket_reply(ticket=answered, body="On it", by=staff["agent"], now=OPENED + dt.timedelta(minutes=5))
    waiting = ticket_create(now=OPENED)
    services.ticket_status_change(ticket=waiting, status="waiting", by=staff["agent"], now=OPENED)
    resolved = ticket_create(now=OPENED)
    services.ticket_status_change(ticket=resolved, status="resolved", by=staff["agent"], now=OPENED)
    services.sla_check(now=FIRST_DUE + dt.timedelta(minutes=1))
    assert not SlaWarning.objects.exists()


def test_the_resolution_deadline_is_warned_about_after_the_first_response(staff):
    # given: answered at once; resolution due Wednesday 3 December 10:00, warned from 08:00
    ticket = ticket_create(assignee=staff["agent"], now=OPENED)
    services.ticket_reply(ticket=ticket, body="On it", by=staff["agent"], now=OPENED)
    resolution_due = local(dt.date(2025, 12, 3), 10)
    # when
    services.sla_check(now=resolution_due - dt.timedelta(minutes=30))
    services.sla_check(now=resolution_due + dt.timedelta(minutes=30))
    services.sla_check(now=resolution_due + dt.timedelta(minutes=31))
    # then
    ticket.refresh_from_db()
    assert kinds(ticket) == ["resolution_breached", "resolution_soon"] and ticket.resolution_breached
    assert len(mail.outbox) == 2 * 3


def test_the_task_is_safe_to_run_twice(staff):
    ticket_create(assignee=staff["agent"], now=OPENED)  # long overdue by now
    first = sla_check_task.apply().get()
    second = sla_check_task.apply().get()
    assert first["first_response_breaches"] == 1 and first["emails"] == 3
    assert second == dict.fromkeys(second, 0)
    assert SlaWarning.objects.count() == 2  # first response and resolution, both overdue today


def test_the_database_holds_one_warning_per_ticket_and_kind():
    ticket = ticket_create(now=OPENED)
    SlaWarning.objects.create(ticket=ticket, kind="first_response_soon", due_at=FIRST_DUE)
    with pytest.raises(IntegrityError):
        SlaWarning.objects.create(ticket=ticket, kind="first_response_soon", due_at=FIRST_DUE)


def test_the_job_reads_the_partial_indexes(staff):
    """The breach query is answered from the index of unmet, unflagged deadlines (no scan of every ticket)."""
    from django.db import connection

    ticket = ticket_create(now=OPENED)
    # A realistic table: most tickets answered long ago. With one row every index costs the same and the
    # planner's pick among them is arbitrary; with the answered ones the partial index is the small one.
    answered = []
    for _ in range(500):
        copy = Ticket.objects.get(pk=ticket.pk)
        copy.pk, copy.id, copy.first_responded_at = None, None, OPENED
        answered.append(copy)
    Ticket.objects.bulk_create(answered)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE feedback_ticket")
        cursor.execute("SET enable_seqscan = off")
        qs = Ticket.objects.filter(
            status__in=["new", "open"],
            first_responded_at__isnull=True,
            first_response_breached=False,
            first_response_due_at__lte=FIRST_DUE,
        ).order_by("first_response_due_at")
        plan = qs.explain()
        cursor.execute("SET enable_seqscan = on")
    assert "ticket_first_response_open_idx" in plan


@pytest.fixture
def portable(monkeypatch):
    """The ORM code path the embedded default (SQLite) takes, run here on PostgreSQL."""
    from types import SimpleNamespace

    monkeypatch.setattr("feedback.services.sla_job.connection", SimpleNamespace(vendor="sqlite"))


def test_the_portable_job_warns_once_too(staff, portable):
    ticket = ticket_create(assignee=staff["agent"], now=OPENED)
    soon = services.sla_check(now=FIRST_DUE - dt.timedelta(minutes=30))
    breach = services.sla_check(now=FIRST_DUE + dt.timedelta(minutes=1))
    again = services.sla_check(now=FIRST_DUE + dt.timedelta(minutes=2))
    assert (soon.warned_soon, breach.first_response_breaches) == (1, 1)
    assert again.as_dict() == dict.fromkeys(again.as_dict(), 0)
    assert kinds(ticket) == ["first_response_breached", "first_response_soon"] and len(mail.outbox) == 6
