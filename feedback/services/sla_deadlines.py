"""A ticket's SLA fields: due times from its policy (business or calendar hours), the clock stopped while
waiting on the customer or resolved, and the next deadline the queues sort on with its warning time."""

from __future__ import annotations

import datetime as dt
import logging

from touchpoints.outreach.inbound import batch_memo

from .. import sla
from ..models import CLOCK_STATUSES, NO_DEADLINE, SlaPolicy, Ticket

logger = logging.getLogger(__name__)


def sla_policy_for(*, priority: str, follow_up: bool = False) -> SlaPolicy | None:
    """The policy for a new ticket (read once per batch of inbound mail: ``inbound.batch``)."""
    return batch_memo(("feedback:sla_policy", priority, follow_up), lambda: _policy_for(priority, follow_up))


def _policy_for(priority: str, follow_up: bool) -> SlaPolicy | None:
    if follow_up:
        policy = SlaPolicy.objects.filter(is_follow_up=True).first()
        if policy is not None:
            return policy
    return SlaPolicy.objects.filter(priority=priority, is_follow_up=False).first()


def _calendar(policy: SlaPolicy | None) -> sla.BusinessCalendar:
    """The business calendar when the policy counts business hours (two queries); else an empty one."""
    if policy is not None and policy.business_hours:
        return batch_memo("feedback:calendar", sla.calendar_load)
    return sla.BusinessCalendar.build(hours=[])


def _uses_business_hours(policy: SlaPolicy, calendar: sla.BusinessCalendar) -> bool:
    if policy.business_hours and not calendar.has_hours:
        logger.error("SLA policy %s counts business hours but none are set: counting calendar hours", policy.pk)
        return False
    return policy.business_hours


def _sla_start(ticket: Ticket, policy: SlaPolicy | None, *, start: dt.datetime) -> None:
    """Due times of a ticket from ``start`` under ``policy`` (none: the ticket has no SLA)."""
    ticket.sla_policy = policy
    if policy is None:
        ticket.first_response_due_at = ticket.resolution_due_at = None
        return
    calendar = _calendar(policy)
    business = _uses_business_hours(policy, calendar)
    ticket.first_response_due_at = sla.due_at(
        start, policy.first_response_minutes, business_hours=business, calendar=calendar
    )
    ticket.resolution_due_at = sla.due_at(start, policy.resolution_minutes, business_hours=business, calendar=calendar)


def _sla_resume(ticket: Ticket, *, paused_at: dt.datetime, now: dt.datetime) -> None:
    """Move the unmet deadlines by the time the clock stood still (waiting on the customer, or resolved)."""
    policy = ticket.sla_policy
    if policy is None:
        return
    calendar = _calendar(policy)
    business = _uses_business_hours(policy, calendar)
    if ticket.first_responded_at is None and ticket.first_response_due_at:
        ticket.first_response_due_at = sla.resume_due(
            ticket.first_response_due_at,
            paused_at=paused_at,
            resumed_at=now,
            business_hours=business,
            calendar=calendar,
        )
    if ticket.resolution_due_at:
        ticket.resolution_due_at = sla.resume_due(
            ticket.resolution_due_at, paused_at=paused_at, resumed_at=now, business_hours=business, calendar=calendar
        )


def _sla_refresh(ticket: Ticket) -> None:
    """Derive the next running deadline and its warning time from the ticket's state."""
    due = NO_DEADLINE
    if ticket.status in CLOCK_STATUSES:
        if ticket.first_responded_at is None and ticket.first_response_due_at:
            due = ticket.first_response_due_at
        elif ticket.resolved_at is None and ticket.resolution_due_at:
            due = ticket.resolution_due_at
    ticket.next_due_at = due
    if due == NO_DEADLINE:
        ticket.next_warn_at = NO_DEADLINE
    else:
        warn = ticket.sla_policy.warn_before_minutes if ticket.sla_policy else 0
        ticket.next_warn_at = due - dt.timedelta(minutes=warn)


def _sla_reprioritise(ticket: Ticket, *, now: dt.datetime) -> None:
    """Due times under the new priority's policy, from when the ticket was opened.

    Pauses so far moved the old deadlines later; the new ones move by the same calendar time.
    Breach flags follow the new deadlines for what already happened; the SLA job sees the rest.
    """
    old_policy, old_resolution = ticket.sla_policy, ticket.resolution_due_at
    shift = dt.timedelta()
    if old_policy is not None and old_resolution is not None:
        probe = Ticket(created_at=ticket.created_at)
        _sla_start(probe, old_policy, start=ticket.created_at)
        shift = max(dt.timedelta(), old_resolution - probe.resolution_due_at)
    _sla_start(ticket, sla_policy_for(priority=ticket.priority), start=ticket.created_at)
    if ticket.first_response_due_at:
        ticket.first_response_due_at += shift
        if ticket.first_responded_at is not None:
            ticket.first_response_breached = ticket.first_responded_at > ticket.first_response_due_at
        else:
            ticket.first_response_breached = now > ticket.first_response_due_at and ticket.first_response_breached
    if ticket.resolution_due_at:
        ticket.resolution_due_at += shift
        if ticket.resolved_at is not None:
            ticket.resolution_breached = ticket.resolved_at > ticket.resolution_due_at
        else:
            ticket.resolution_breached = now > ticket.resolution_due_at and ticket.resolution_breached
