"""The feedback figures, on data whose answers are worked out by hand."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from feedback import services
from feedback.figures import feedback_figures, nps_score
from feedback.models import Ticket
from tests.factories import CustomerFactory, UserFactory, ticket_create

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2025, 12, 1, 3, 0, tzinfo=dt.UTC)  # Monday 12:00 in Tokyo
START, END = NOW - dt.timedelta(days=30), NOW


def answer(kind: str, score: int, *, at: dt.datetime = NOW - dt.timedelta(days=1)) -> None:
    survey = services.survey_create(customer=CustomerFactory(), kind=kind, send=False)
    services.survey_answer(survey=survey, score=score, now=at)


def test_csat_and_nps():
    # CSAT: 5, 4, 4, 2 -> 3 of 4 satisfied = 75 %, mean 3.75
    for score in (5, 4, 4, 2):
        answer("csat", score)
    # NPS: promoters 10, 9, 9; passives 8, 7; detractors 6, 0, 3 -> (3 - 3) / 8 = 0; plus one more promoter below
    for score in (10, 9, 9, 8, 7, 6, 0, 3, 10):
        answer("nps", score)
    # an answer outside the period does not count
    answer("nps", 0, at=NOW - dt.timedelta(days=40))
    f = feedback_figures(start=START, end=END, now=NOW)
    assert (f.csat_answers, f.csat_satisfied, f.csat, f.csat_mean) == (4, 3, 75.0, 3.75)
    assert (f.nps_answers, f.nps_promoters, f.nps_passives, f.nps_detractors) == (9, 4, 2, 3)
    assert f.nps == round(100 * (4 - 3) / 9, 1) == 11.1
    assert f.unhappy_answers == 1 + 3  # CSAT 2; NPS 6, 0, 3


def test_nps_is_promoters_minus_detractors():
    assert nps_score(7, 1, 10) == 60.0
    assert nps_score(0, 10, 10) == -100.0
    assert nps_score(0, 0, 0) is None


def test_median_times_and_sla_compliance():
    agent = UserFactory(username="agent", role="Support")
    opened = NOW - dt.timedelta(days=5)
    # three tickets answered after 1, 2 and 10 hours (median 2 h); the 10-hour one missed its deadline
    # (urgent: 1 h). Resolved after 4, 6 and 20 hours (median 6 h), the 20-hour one late (urgent: 8 h).
    for reply_after, resolve_after, priority in ((1, 4, "normal"), (2, 6, "normal"), (10, 20, "urgent")):
        ticket = ticket_create(priority=priority, now=opened)
        services.ticket_reply(ticket=ticket, body="ok", by=agent, now=opened + dt.timedelta(hours=reply_after))
        services.ticket_status_change(
            ticket=ticket, status="resolved", by=agent, now=opened + dt.timedelta(hours=resolve_after)
        )
    # one ticket not answered and already overdue counts as a missed first response; one not yet due does not
    overdue = ticket_create(priority="urgent", now=opened)
    Ticket.objects.filter(pk=overdue.pk).update(first_response_breached=True)
    ticket_create(priority="low", now=NOW - dt.timedelta(minutes=5))
    f = feedback_figures(start=START, end=END, now=NOW)
    assert f.median_first_response == dt.timedelta(hours=2)
    assert f.median_resolution == dt.timedelta(hours=6)
    assert (f.first_responses_met, f.first_responses_due, f.first_response_compliance) == (2, 4, 50.0)
    assert (f.resolutions_met, f.resolutions_due) == (2, 3) and f.resolution_compliance == 66.7


def test_open_tickets_by_age():
    ages = [dt.timedelta(hours=2), dt.timedelta(days=2), dt.timedelta(days=2, hours=1), dt.timedelta(days=10),
            dt.timedelta(days=45)]  # fmt: skip
    for age in ages:
        ticket_create(now=NOW - age)
    closed = ticket_create(now=NOW - dt.timedelta(hours=1))
    services.ticket_status_change(ticket=closed, status="closed", by=None, now=NOW)
    f = feedback_figures(start=START, end=END, now=NOW)
    assert [(key, n) for key, _label, n in f.open_by_age] == [("1d", 1), ("3d", 2), ("7d", 0), ("30d", 1), ("older", 1)]
    assert f.open_total == 5


def test_the_figures_page(client):
    client.force_login(UserFactory(username="mk", role="Marketing"))
    answer("nps", 10, at=dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
    response = client.get(reverse("feedback:figures") + "?days=7")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="figure-nps">100.0<' in body and "Open tickets by age" in body
    assert client.get(reverse("feedback:figures") + "?days=abc").status_code == 200


def test_the_portable_medians_match(monkeypatch):
    """The embedded default (SQLite) computes medians in Python: the same figures."""
    from types import SimpleNamespace

    agent = UserFactory(username="agent", role="Support")
    opened = NOW - dt.timedelta(days=5)
    for hours in (1, 2, 10, 11):
        ticket = ticket_create(now=opened)
        services.ticket_reply(ticket=ticket, body="ok", by=agent, now=opened + dt.timedelta(hours=hours))
    on_postgresql = feedback_figures(start=START, end=END, now=NOW)
    monkeypatch.setattr("feedback.figures.connection", SimpleNamespace(vendor="sqlite"))
    portable = feedback_figures(start=START, end=END, now=NOW)
    assert portable.median_first_response == on_postgresql.median_first_response == dt.timedelta(hours=6)
    assert portable.first_responses_met == on_postgresql.first_responses_met == 4
