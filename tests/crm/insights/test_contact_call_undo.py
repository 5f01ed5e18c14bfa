"""Undo of a call logged from "who to contact this week": for ten minutes, by whoever logged it or a manager, the call
goes (its touchpoint, the last activity it set, the rules' follow-ups it scheduled) through a service, and the
customer's change history says who undid which call."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from crm.audit.context import history_context
from crm.audit.history import customer_history
from crm.insights import scoring
from customers.models import CustomerActivity
from tests.crm.insights.test_contact_list import HTMX, LIST, call_key, score
from tests.factories import FollowUpRuleFactory, UserFactory, touchpoint_create
from touchpoints.models import Touchpoint, TouchpointType
from touchpoints.outreach import rules
from touchpoints.outreach.models import FollowUp

pytestmark = pytest.mark.django_db


def _listed():
    """A customer on the list: scored, and with a purchase (so in the decision stage a call does not move them on)."""
    customer = score().customer
    touchpoint_create(customer, "transaction", occurred_at=timezone.now() - dt.timedelta(days=90))
    return customer


def _login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _log_call(client: Client, customer, **data) -> tuple[Touchpoint, str]:
    key = call_key(client.get(LIST))
    response = client.post(reverse("insights_scoring:contact_call", args=[customer.pk]), {"key": key, **data}, **HTMX)
    return Touchpoint.objects.filter(customer=customer).latest("pk"), response.content.decode()


def _undo(client: Client, customer, touchpoint, **extra):
    url = reverse("insights_scoring:contact_call_undo", args=[customer.pk, touchpoint.pk])
    return client.post(url, **extra)


def test_the_caller_undoes_a_logged_call_and_the_history_says_so(marketing, django_capture_on_commit_callbacks):
    customer = _listed()
    before = CustomerActivity.objects.get(customer=customer).last_activity_at
    client = _login(marketing)
    with django_capture_on_commit_callbacks(execute=True):
        touchpoint, row = _log_call(client, customer, outcome="no_answer", note="Rang twice")
    assert 'data-action="undo-call"' in row  # the row offers the undo right after the call
    assert CustomerActivity.objects.get(customer=customer).last_activity_at > before

    with django_capture_on_commit_callbacks(execute=True):
        response = _undo(client, customer, touchpoint, **HTMX)

    assert response.status_code == 200 and "Call undone" in response.content.decode()
    assert not Touchpoint.objects.filter(pk=touchpoint.pk).exists()
    assert CustomerActivity.objects.get(customer=customer).last_activity_at == before
    (change,) = [c for c in customer_history(customer) if c.what == "Call"]
    assert change.action == "undone" and change.who["user"] == marketing.pk
    assert ("Recorded by", "", "marketing") in change.fields or any(f[2] == "marketing" for f in change.fields)
    assert "Rang twice" not in str(change.fields)  # the note stays out of the history (erasure need not chase it)


def test_a_colleague_may_not_undo_but_a_manager_may(marketing, manager):
    customer = _listed()
    touchpoint, _row = _log_call(_login(marketing), customer)
    colleague = UserFactory(username="colleague", role="Marketing")

    refused = _undo(_login(colleague), customer, touchpoint, **HTMX)

    assert refused.status_code == 200 and "Only whoever logged the call or a manager" in refused.content.decode()
    assert Touchpoint.objects.filter(pk=touchpoint.pk).exists()
    assert _undo(_login(manager), customer, touchpoint).status_code == 302  # a plain POST: back to the list
    assert not Touchpoint.objects.filter(pk=touchpoint.pk).exists()


def test_the_undo_window_closes_after_ten_minutes(marketing):
    customer = _listed()
    touchpoint, _row = _log_call(_login(marketing), customer)
    later = timezone.now() + scoring.CALL_UNDO_WINDOW + dt.timedelta(seconds=1)

    with pytest.raises(scoring.ValidationError, match="can no longer be undone"):
        scoring.contact_call_undo(touchpoint_id=touchpoint.pk, by=marketing, now=later)

    assert Touchpoint.objects.filter(pk=touchpoint.pk).exists()


def test_only_calls_from_the_contact_list_can_be_undone_here(manager, marketing):
    customer = _listed()
    other = Touchpoint.objects.create(
        customer=customer,
        type=TouchpointType.objects.get(slug="support"),
        stage="decision",
        channel="phone",
        direction="inbound",
        occurred_at=timezone.now(),
        recorded_by_user=marketing,
    )

    response = _undo(_login(manager), customer, other, **HTMX)

    assert response.status_code == 404
    assert Touchpoint.objects.filter(pk=other.pk).exists()
    support = UserFactory(username="support-undo", role="Support")  # cannot see the list
    assert _undo(_login(support), customer, other).status_code == 403


def test_undo_cancels_the_follow_ups_the_call_scheduled(marketing, django_capture_on_commit_callbacks):
    rules.rules_changed()
    FollowUpRuleFactory(
        trigger_type=TouchpointType.objects.get(slug="support"),
        delay_amount=1,
        action="task",
        template=None,
        task_title="Look after them",
    )
    customer = _listed()
    client = _login(marketing)
    with django_capture_on_commit_callbacks(execute=True):
        touchpoint, _row = _log_call(client, customer)
    assert FollowUp.objects.get().status == FollowUp.Status.SCHEDULED

    with django_capture_on_commit_callbacks(execute=True):
        _undo(client, customer, touchpoint, **HTMX)

    followup = FollowUp.objects.get()
    assert followup.status == FollowUp.Status.CANCELLED and followup.outcome == FollowUp.Outcome.CONDITIONS
    rules.rules_changed()


def test_undoing_twice_is_harmless(marketing):
    customer = _listed()
    client = _login(marketing)
    touchpoint, _row = _log_call(client, customer)
    with history_context(user=marketing.pk):
        scoring.contact_call_undo(touchpoint_id=touchpoint.pk, by=marketing)

    again = _undo(client, customer, touchpoint, **HTMX)

    assert again.status_code == 404


def test_a_call_that_moved_the_customers_stage_is_not_undone_here(marketing):
    customer = score().customer  # never in a stage: the call puts them in one
    touchpoint, _row = _log_call(_login(marketing), customer)

    response = _undo(_login(marketing), customer, touchpoint, **HTMX)

    assert "move them back on their page" in response.content.decode()
    assert Touchpoint.objects.filter(pk=touchpoint.pk).exists()
