"""``manage.py seed_feedback`` on a small demo database: a year of tickets and surveys that keep the rules."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from feedback.models import NO_DEADLINE, Status, Survey, Ticket, TicketMessage
from feedback.references import REFERENCE_PREFIX
from touchpoints.models import Touchpoint
from touchpoints.outreach.models import OutboundMessage

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    call_command("seed_demo", customers=60, seed=42, demo_logins=True, stdout=io.StringIO())


@pytest.fixture
def end():
    return timezone.now().replace(microsecond=0) - dt.timedelta(minutes=1)


def seed(end: dt.datetime, **options) -> str:
    out = io.StringIO()
    call_command("seed_feedback", now=end, stdout=out, **options)
    return out.getvalue()


def rows(queryset) -> list[str]:
    """Sorted, None included (rows compared as text). A ticket reference (``T-000123``, in a follow-up's subject) is
    its id, which a rolled-back run does not give back to the sequence: it is compared as ``T-…``."""
    return sorted(re.sub(rf"{REFERENCE_PREFIX}\d+", f"{REFERENCE_PREFIX}…", repr(row)) for row in queryset)


def fingerprint() -> dict:
    return {
        "tickets": rows(
            Ticket.objects.values_list(
                "customer_id", "subject", "kind", "channel", "priority", "status", "assignee__username",
                "created_at", "first_responded_at", "resolved_at", "closed_at", "first_response_breached",
                "resolution_breached", "source_survey__customer_id",
            )
        ),
        "messages": rows(TicketMessage.objects.values_list("ticket__customer_id", "kind", "body", "created_at")),
        "surveys": rows(
            Survey.objects.values_list("customer_id", "kind", "score", "comment", "created_at", "answered_at")
        ),
    }  # fmt: skip


def test_a_year_of_tickets_and_surveys_keeps_the_rules(demo, end):
    started = timezone.now()
    output = seed(end)

    assert "tickets" in output
    demo_tickets = Ticket.objects.filter(source_survey__isnull=True)
    assert 8 <= demo_tickets.count() <= 16  # about one per five customers
    assert demo_tickets.filter(assignee__username__in=["support", "yamada", "suzuki"]).count() == demo_tickets.count()
    assert {"ja", "en"} <= {("ja" if t.customer.preferred_language == "ja" else "en") for t in demo_tickets}
    # Every step in the past, in order; the SLA fields as the services computed them.
    for t in Ticket.objects.all():
        times = [t.created_at, t.first_responded_at, t.resolved_at, t.closed_at]
        present = [x for x in times if x is not None]
        assert present == sorted(present) and present[-1] <= end
        assert end - dt.timedelta(days=366) <= t.created_at
        if t.first_responded_at:
            assert t.first_response_breached == (t.first_responded_at > t.first_response_due_at)
        if t.resolved_at:
            assert t.resolution_breached == (t.resolved_at > t.resolution_due_at)
        if t.status in (Status.RESOLVED, Status.CLOSED, Status.WAITING):
            assert t.next_due_at == NO_DEADLINE
        else:
            assert t.next_due_at in (t.first_response_due_at, t.resolution_due_at)
    assert {Status.NEW, Status.OPEN, Status.WAITING, Status.CLOSED} <= set(
        Ticket.objects.values_list("status", flat=True)
    )
    resolved = Ticket.objects.filter(resolved_at__isnull=False, source_survey__isnull=True)
    assert resolved.filter(resolution_breached=False, first_response_breached=False).count() > resolved.count() / 2
    # Surveys: a CSAT per resolved ticket, quarterly NPS; scores on their scale, answered after they were sent.
    assert Survey.objects.filter(kind="csat").count() == resolved.count()
    answered = Survey.objects.filter(answered_at__isnull=False)
    assert answered.filter(kind="csat").exists() and answered.filter(kind="nps").exists()
    for survey in Survey.objects.all():
        assert survey.created_at < started  # re-dated from "now" to when it was sent
        if survey.answered_at:
            assert survey.score in survey.scale and survey.created_at <= survey.answered_at <= end
            assert Ticket.objects.filter(source_survey=survey).exists() == survey.is_unhappy
    # Loops: a reply to an unhappy customer closes it.
    for follow_up in Ticket.objects.filter(source_survey__isnull=False):
        assert (follow_up.loop_closed_at is not None) == (follow_up.first_responded_at is not None)
    # Nothing of the history is left for the worker to mail; the history's touchpoints and activity are past.
    assert not OutboundMessage.objects.filter(status="queued").exists()
    assert not OutboundMessage.objects.filter(created_at__gte=started).exists()
    assert not Touchpoint.objects.filter(occurred_at__gte=started).exists()
    assert not Ticket.objects.filter(updated_at__gte=started).exists()


def test_running_twice_adds_nothing(demo, end):
    seed(end)
    before = fingerprint()

    output = seed(end)

    assert "exist already" in output and fingerprint() == before


def test_the_same_seed_gives_the_same_year(demo, end):
    savepoint = transaction.savepoint()
    seed(end, seed=3)
    first = fingerprint()
    transaction.savepoint_rollback(savepoint)
    assert not Ticket.objects.exists()

    seed(end, seed=3)

    assert fingerprint() == first and first["tickets"]


def test_the_year_reads_settings_once_and_redates_in_batches(demo, end):
    # given: a demo with a dozen tickets, a hundred-odd surveys and outbox rows to redate
    # when
    with CaptureQueriesContext(connection) as queries:
        seed(end)

    # then: the SLA calendar and policies are read once for the run, not once per ticket (nothing changes them
    # while it runs), and the rows services dated "now" are moved back a thousand per UPDATE, not one by one
    sql = [q["sql"] for q in queries.captured_queries]
    tickets = Ticket.objects.count()
    assert tickets >= 8
    assert sum('FROM "feedback_holiday"' in s for s in sql) <= 1
    assert sum('FROM "feedback_slapolicy"' in s for s in sql) <= 8  # one per priority, tickets and follow-ups
    assert sum(s.startswith('UPDATE "feedback_survey" SET "created_at"') for s in sql) == 1
    assert sum(s.startswith('UPDATE "feedback_ticket" SET "updated_at"') for s in sql) == 1
    assert sum(s.startswith('UPDATE "touchpoints_outboundmessage" SET "created_at"') for s in sql) == 1
