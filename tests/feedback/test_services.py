"""Tickets: status rules, SLA fields through a ticket's life, replies through the outbox, bulk actions,
canned responses."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from feedback import services
from feedback.models import NO_DEADLINE, SlaPolicy, Status, Survey, Ticket, TicketMessage
from feedback.references import parse_reference
from tests.factories import CannedResponseFactory, CustomerFactory, UserFactory, ticket_create
from tests.feedback.conftest import local, survey_in
from touchpoints.models import Touchpoint, TouchpointType

pytestmark = pytest.mark.django_db

WEDNESDAY = dt.date(2025, 11, 26)  # in the past: touchpoints refuse future times


@pytest.fixture
def agent():
    return UserFactory(username="agent", role="Support")


# --- Status rules ---------------------------------------------------------------------------------

ALL = [s.value for s in Status]
ALLOWED = {
    ("new", "open"), ("new", "waiting"), ("new", "resolved"), ("new", "closed"),
    ("open", "waiting"), ("open", "resolved"), ("open", "closed"),
    ("waiting", "open"), ("waiting", "resolved"), ("waiting", "closed"),
    ("resolved", "open"), ("resolved", "closed"),
}  # fmt: skip


@pytest.mark.parametrize("from_status", ALL)
@pytest.mark.parametrize("to_status", ALL)
def test_the_transition_table(from_status, to_status):
    assert services.transition_allowed(from_status, to_status) == ((from_status, to_status) in ALLOWED)


def _ticket_in(status: str, agent) -> Ticket:
    ticket = ticket_create()
    path = {
        "new": [],
        "open": ["open"],
        "waiting": ["waiting"],
        "resolved": ["resolved"],
        "closed": ["closed"],
    }[status]
    for step in path:
        ticket = services.ticket_status_change(ticket=ticket, status=step, by=agent)
    return ticket


@pytest.mark.parametrize(
    ("from_status", "to_status"), [("closed", "open"), ("closed", "resolved"), ("resolved", "waiting")]
)
def test_a_forbidden_move_is_refused_and_changes_nothing(agent, from_status, to_status):
    # given: a ticket in from_status
    ticket = _ticket_in(from_status, agent)
    # when / then
    with pytest.raises(ValidationError, match="cannot go from"):
        services.ticket_status_change(ticket=ticket, status=to_status, by=agent)
    ticket.refresh_from_db()
    assert ticket.status == from_status


def test_an_unknown_status_is_refused(agent):
    with pytest.raises(ValidationError):
        services.ticket_status_change(ticket=ticket_create(), status="deleted", by=agent)


# --- Opening --------------------------------------------------------------------------------------


def test_opening_a_ticket_sets_its_due_times_and_records_a_support_touchpoint(agent):
    # given: a customer; Wednesday 10:00 in Tokyo
    customer = CustomerFactory()
    now = local(WEDNESDAY, 10)
    # when: a normal ticket is opened (9 business hours to answer, 45 to resolve)
    ticket = ticket_create(customer, priority="normal", channel="phone", by=agent, now=now)
    # then
    assert ticket.reference == f"T-{ticket.pk:06d}" and parse_reference(ticket.reference) == ticket.pk
    assert ticket.status == Status.NEW
    assert ticket.sla_policy == SlaPolicy.objects.get(priority="normal")
    assert ticket.first_response_due_at == local(WEDNESDAY + dt.timedelta(days=1), 10)
    assert ticket.resolution_due_at == local(dt.date(2025, 12, 3), 10)
    assert ticket.next_due_at == ticket.first_response_due_at
    assert ticket.next_warn_at == ticket.first_response_due_at - dt.timedelta(minutes=120)
    touchpoint = Touchpoint.objects.get(customer=customer)
    assert touchpoint.type.slug == "support" and touchpoint.channel == "phone"
    assert ticket.reference in touchpoint.summary and touchpoint.metadata["ticket"] == ticket.pk


def test_urgent_tickets_count_calendar_hours():
    ticket = ticket_create(priority="urgent", now=local(dt.date(2025, 11, 29), 23))  # Saturday 23:00
    assert ticket.first_response_due_at == local(dt.date(2025, 11, 30), 0)
    assert ticket.resolution_due_at == local(dt.date(2025, 11, 30), 7)


def test_a_ticket_opens_when_marketing_retired_the_support_touchpoint_type():
    TouchpointType.objects.filter(slug="support").update(is_active=False)
    ticket = ticket_create()
    assert ticket.pk and not Touchpoint.objects.filter(customer=ticket.customer).exists()


def test_a_replayed_idempotency_key_returns_the_first_ticket():
    customer = CustomerFactory()
    first = ticket_create(customer, idempotency_key="widget-1")
    second = ticket_create(customer, idempotency_key="widget-1")
    assert second.pk == first.pk and second.replayed and not first.replayed
    assert Ticket.objects.count() == 1
    with pytest.raises(ValidationError):
        ticket_create(CustomerFactory(), idempotency_key="widget-1")


@pytest.mark.parametrize(
    ("field", "value"),
    [("subject", ""), ("subject", "x" * 201), ("body", "nul\x00"), ("kind", "rant"), ("priority", "asap")],
)
def test_invalid_tickets_are_refused(field, value):
    with pytest.raises(ValidationError):
        ticket_create(**{field: value})
    assert not Ticket.objects.exists()


def test_a_ticket_is_assigned_to_active_staff_only():
    with pytest.raises(ValidationError):
        ticket_create(assignee=UserFactory(username="gone", is_active=False))


# --- Replies and notes ----------------------------------------------------------------------------


def test_a_public_reply_is_the_first_response_goes_through_the_outbox_and_opens_the_ticket(agent, outbox):
    # given: a new ticket opened Wednesday 10:00
    ticket = ticket_create(now=local(WEDNESDAY, 10))
    # when: the agent replies at 11:00
    message = services.ticket_reply(ticket=ticket, body="We are sending a new lid.", by=agent, now=local(WEDNESDAY, 11))
    # then
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
    assert ticket.first_responded_at == local(WEDNESDAY, 11) and not ticket.first_response_breached
    assert ticket.next_due_at == ticket.resolution_due_at
    (mail,) = outbox()
    assert mail.key == f"feedback:reply:{message.pk}" == message.outbox_key
    assert mail.purpose == "transactional" and mail.status == "queued"
    assert "We are sending a new lid." in mail.body and ticket.reference in mail.subject


def test_a_late_first_response_is_flagged(agent):
    ticket = ticket_create(now=local(WEDNESDAY, 10))
    services.ticket_reply(
        ticket=ticket, body="Sorry for the wait.", by=agent, now=local(WEDNESDAY, 10) + dt.timedelta(days=2)
    )
    ticket.refresh_from_db()
    assert ticket.first_response_breached


def test_an_internal_note_is_not_mailed_and_is_not_a_response(agent, outbox):
    ticket = ticket_create()
    services.ticket_reply(ticket=ticket, body="Check the warehouse.", by=agent, public=False)
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW and ticket.first_responded_at is None
    assert outbox() == []
    assert TicketMessage.objects.exclude(kind="opened").get().kind == "note"


def test_no_public_reply_to_a_closed_ticket(agent, outbox):
    ticket = _ticket_in("closed", agent)
    with pytest.raises(ValidationError, match="closed"):
        services.ticket_reply(ticket=ticket, body="Hello?", by=agent)
    assert not TicketMessage.objects.exclude(kind="opened").exists() and outbox() == []


def test_a_reply_can_move_the_status_in_the_same_step(agent):
    ticket = ticket_create()
    services.ticket_reply(ticket=ticket, body="Could you send a photo?", by=agent, status="waiting")
    ticket.refresh_from_db()
    assert ticket.status == Status.WAITING and ticket.sla_paused_at is not None and ticket.first_responded_at


# --- The SLA clock through a ticket's life --------------------------------------------------------


def test_waiting_on_the_customer_stops_the_clock_and_resuming_moves_the_deadline(agent):
    # given: a ticket opened Wednesday 10:00, answered at once; resolution due Wednesday 3 December 10:00
    ticket = ticket_create(now=local(WEDNESDAY, 10))
    services.ticket_reply(ticket=ticket, body="A photo please", by=agent, now=local(WEDNESDAY, 10))
    ticket.refresh_from_db()
    assert ticket.resolution_due_at == local(dt.date(2025, 12, 3), 10)
    # when: it waits on the customer from Wednesday 17:00 to Friday 17:00 (two business days stood still)
    services.ticket_status_change(ticket=ticket, status="waiting", by=agent, now=local(WEDNESDAY, 17))
    ticket.refresh_from_db()
    assert ticket.next_due_at == NO_DEADLINE and ticket.next_warn_at == NO_DEADLINE
    services.ticket_status_change(ticket=ticket, status="open", by=agent, now=local(dt.date(2025, 11, 28), 17))
    # then: the deadline is two business days later, Friday 5 December 10:00
    ticket.refresh_from_db()
    assert ticket.resolution_due_at == local(dt.date(2025, 12, 5), 10)
    assert ticket.sla_paused_at is None and ticket.next_due_at == ticket.resolution_due_at


def test_resolving_records_the_time_flags_a_late_one_and_sends_the_csat_survey(agent, outbox):
    # given: a ticket opened Wednesday 10:00 (resolution due Wednesday 3 December 10:00)
    ticket = ticket_create(now=local(WEDNESDAY, 10))
    # when: it is resolved a week and a half later
    late = local(dt.date(2025, 12, 5), 10)
    services.ticket_status_change(ticket=ticket, status="resolved", by=agent, now=late)
    # then
    ticket.refresh_from_db()
    assert ticket.resolved_at == late and ticket.resolution_breached and ticket.next_due_at == NO_DEADLINE
    survey = Survey.objects.get(ticket=ticket)
    assert survey.kind == "csat" and survey.customer_id == ticket.customer_id
    (mail,) = [m for m in outbox() if m.key == f"feedback:survey:{survey.pk}"]
    assert mail.template.slug == "csat-invite" and mail.purpose == "transactional"
    assert survey_in(mail.body) == survey and ticket.reference in mail.body
    assert Touchpoint.objects.filter(customer=ticket.customer, type__slug="feedback-request").exists()


def test_reopening_and_resolving_again_sends_no_second_survey(agent, outbox):
    ticket = _ticket_in("resolved", agent)
    ticket = services.ticket_status_change(ticket=ticket, status="open", by=agent)
    assert ticket.resolved_at is None and ticket.status == "open"
    services.ticket_status_change(ticket=ticket, status="resolved", by=agent)
    assert Survey.objects.filter(ticket=ticket).count() == 1
    assert len([m for m in outbox() if m.key.startswith("feedback:survey:")]) == 1


def test_closing_keeps_the_resolution_time_and_closed_is_final(agent):
    ticket = _ticket_in("resolved", agent)
    resolved_at = ticket.resolved_at
    ticket = services.ticket_status_change(ticket=ticket, status="closed", by=agent)
    assert ticket.closed_at and ticket.resolved_at == resolved_at
    assert services.allowed_transitions("closed") == []


def test_a_new_priority_recomputes_the_due_times(agent):
    ticket = ticket_create(priority="low", now=local(WEDNESDAY, 10))
    ticket = services.ticket_update(ticket=ticket, data={"priority": "high"}, by=agent, now=local(WEDNESDAY, 11))
    assert ticket.sla_policy.priority == "high"
    assert ticket.first_response_due_at == local(WEDNESDAY, 14)
    assert ticket.next_due_at == ticket.first_response_due_at


def test_details_and_tags_are_updated(agent):
    ticket = ticket_create()
    ticket = services.ticket_update(
        ticket=ticket, data={"subject": "Broken lid", "kind": "complaint", "tags": ["Lid", "lid", "Refund"]}, by=agent
    )
    assert ticket.subject == "Broken lid" and ticket.kind == "complaint"
    assert sorted(t.name for t in ticket.tags.all()) == ["Lid", "Refund"]


# --- Bulk actions ---------------------------------------------------------------------------------


def test_bulk_assign_and_close_skip_closed_tickets(agent):
    tickets = [ticket_create() for _ in range(3)]
    closed = _ticket_in("closed", agent)
    ids = [t.pk for t in tickets] + [closed.pk, 10**12]
    assert services.tickets_bulk_assign(ticket_ids=ids, assignee=agent, by=agent) == 3
    assert services.tickets_bulk_close(ticket_ids=ids, by=agent) == 3
    assert services.tickets_bulk_close(ticket_ids=ids, by=agent) == 0  # twice changes nothing
    for ticket in Ticket.objects.filter(pk__in=[t.pk for t in tickets]):
        assert ticket.status == "closed" and ticket.closed_at and ticket.resolved_at and ticket.assignee == agent
        assert ticket.next_due_at == NO_DEADLINE
    closed.refresh_from_db()
    assert closed.assignee is None
    assert not Survey.objects.exists()  # closing is not resolving: no CSAT


def test_bulk_actions_are_capped():
    with pytest.raises(ValidationError):
        services.tickets_bulk_close(ticket_ids=list(range(1, 600)), by=None)


# --- Canned responses -----------------------------------------------------------------------------


def test_a_canned_response_fills_its_placeholders_for_the_ticket(agent, settings):
    settings.TSUNAGU_SHOP_NAME = "Kettle Shop"
    customer = CustomerFactory(family_name="Sato", given_name="Kenji", preferred_language="ja")
    ticket = ticket_create(customer)
    canned = CannedResponseFactory(body="{customer_name}様 {ticket_reference} {agent_name} {shop_name} {unknown}")
    text = services.canned_response_render(canned=canned, ticket=ticket, agent=agent)
    assert text == f"Kenji Sato様 {ticket.reference} {agent.first_name} {agent.last_name} Kettle Shop {{unknown}}"


def test_a_canned_response_with_an_unknown_placeholder_or_a_taken_title_is_refused():
    with pytest.raises(ValidationError, match="Unknown placeholders"):
        services.canned_response_save(title="Hi", body="Hello {customer_nmae}")
    services.canned_response_save(title="Refund", body="We refunded you.")
    with pytest.raises(ValidationError, match="already exists"):
        services.canned_response_save(title="refund", body="Again.")
