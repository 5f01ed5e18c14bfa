"""The feedback figures' rollup (feedback/rollups.py): the figures read from it equal the figures computed from the
raw rows (feedback_figures, the definition), on varied data with answers, openings, replies and resolutions on
either side of midnight in the business time zone (Asia/Tokyo), for periods aligned on days or not."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from feedback import rollups, services
from feedback.figures import feedback_figures
from feedback.models import FiguresDay, FiguresSpan, Survey, Ticket
from feedback.tasks import figures_rollup_refresh_task
from tests.factories import CustomerFactory, UserFactory, ticket_create

from .conftest import local

pytestmark = pytest.mark.django_db

TOKYO_DAY = dt.date(2025, 11, 20)
# Instants on either side of Tokyo midnight (15:00 UTC), and ordinary ones.
MIDNIGHT_OFFSETS = [
    dt.timedelta(microseconds=-1),
    dt.timedelta(0),
    dt.timedelta(seconds=1),
    dt.timedelta(minutes=-30),
    dt.timedelta(minutes=30),
    dt.timedelta(hours=9, minutes=15),
    dt.timedelta(hours=-9, minutes=-5),
]


def _instant(rng: random.Random, base: dt.datetime, days: int) -> dt.datetime:
    midnight = local(base.date() if timezone.is_naive(base) else timezone.localdate(base), 0) - dt.timedelta(
        days=rng.randrange(days)
    )
    return midnight + rng.choice(MIDNIGHT_OFFSETS)


def seed(base: dt.datetime, *, rng: random.Random, surveys: int = 30, tickets: int = 18, days: int = 8) -> None:
    """Answers (some unhappy, whose follow-up ticket is replied to or not), tickets replied to and resolved after
    varied delays, some breaching their deadlines, one reopened; every instant near a Tokyo midnight."""
    cap = timezone.now() - dt.timedelta(seconds=1)  # nothing happens in the future

    def when(at: dt.datetime) -> dt.datetime:
        return min(at, cap)

    agent = UserFactory(username=f"agent{rng.randrange(10**6)}", role="Support")
    customers = [CustomerFactory() for _ in range(4)]
    for _ in range(surveys):
        kind = rng.choice([Survey.Kind.CSAT, Survey.Kind.NPS])
        score = rng.randint(1, 5) if kind == Survey.Kind.CSAT else rng.randint(0, 10)
        survey = services.survey_create(customer=rng.choice(customers), kind=kind, send=False)
        at = when(_instant(rng, base, days))
        survey, _recorded = services.survey_answer(survey=survey, score=score, now=at)
        follow_up = Ticket.objects.filter(source_survey=survey).first()
        if follow_up and rng.random() < 0.7:
            reply_at = at + rng.choice([dt.timedelta(minutes=20), dt.timedelta(hours=15), dt.timedelta(days=1)])
            services.ticket_reply(ticket=follow_up, body="Sorry", by=agent, now=when(reply_at))
    for _ in range(tickets):
        opened = when(_instant(rng, base, days))
        ticket = ticket_create(
            customer=rng.choice(customers), priority=rng.choice(["urgent", "normal", "low"]), now=opened
        )
        if rng.random() < 0.8:
            replied = opened + dt.timedelta(minutes=rng.randint(1, 3000), microseconds=rng.randint(0, 999_999))
            services.ticket_reply(ticket=ticket, body="ok", by=agent, now=when(replied))
            if rng.random() < 0.7:
                resolved = replied + dt.timedelta(minutes=rng.randint(1, 3000))
                services.ticket_status_change(ticket=ticket, status="resolved", by=agent, now=when(resolved))
                if rng.random() < 0.15:
                    services.ticket_status_change(ticket=ticket, status="open", by=agent, now=when(resolved))
        if rng.random() < 0.2:
            Ticket.objects.filter(pk=ticket.pk).update(first_response_breached=True, resolution_breached=True)


def periods(base: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
    midnight = local(timezone.localdate(base), 0)
    return [
        (base - dt.timedelta(days=7), base),  # the page's "last 7 days": partial days at both ends
        (base - dt.timedelta(days=30), base),
        (midnight - dt.timedelta(days=5), midnight),  # whole days only
        (midnight - dt.timedelta(days=5, microseconds=1), midnight + dt.timedelta(microseconds=1)),
        (midnight - dt.timedelta(days=3, hours=-2), midnight - dt.timedelta(hours=3)),
        (midnight - dt.timedelta(hours=20), midnight - dt.timedelta(hours=1)),  # within one day
        (midnight - dt.timedelta(minutes=1), midnight + dt.timedelta(minutes=1)),  # across one midnight
        (midnight, midnight),  # empty
        (base - dt.timedelta(days=400), base + dt.timedelta(days=5)),
    ]


def assert_same_figures(base: dt.datetime, now: dt.datetime) -> None:
    for start, end in periods(base):
        raw = dataclasses.asdict(feedback_figures(start=start, end=end, now=now))
        from_rollups = dataclasses.asdict(rollups.figures_from_rollups(start=start, end=end, now=now))
        assert from_rollups == raw, (start, end)


def rollup_rows() -> tuple[list, list]:
    days = list(FiguresDay.objects.order_by("day").values())
    spans = sorted(FiguresSpan.objects.values_list("ticket_id", "kind", "at", "day", "span"))
    return days, spans


@pytest.mark.parametrize("seed_value", [1, 2, 3])
def test_the_figures_from_the_rollup_equal_those_from_the_raw_rows(seed_value):
    # given varied answers and tickets around Tokyo midnights over a week and a half
    base = local(TOKYO_DAY, 14, 30)
    seed(base, rng=random.Random(seed_value))
    # when the rollup is built
    rollups.rebuild()
    # then every period's figures (counts, CSAT mean, medians to the microsecond) are those of the raw rows
    assert FiguresDay.objects.exists() and FiguresSpan.objects.exists()
    assert_same_figures(base, now=base)
    # and the days are Tokyo's: an answer at 23:59:59.999999 counts on that day, one at 00:00 on the next
    survey = services.survey_create(customer=CustomerFactory(), kind="csat", send=False)
    services.survey_answer(survey=survey, score=5, now=local(TOKYO_DAY, 0) - dt.timedelta(microseconds=1))
    survey = services.survey_create(customer=CustomerFactory(), kind="csat", send=False)
    services.survey_answer(survey=survey, score=4, now=local(TOKYO_DAY, 0))
    before = {d.day: d.csat_answers for d in FiguresDay.objects.all()}
    rollups.refresh()
    after = {d.day: d.csat_answers for d in FiguresDay.objects.all()}
    previous = TOKYO_DAY - dt.timedelta(days=1)
    assert after.get(previous, 0) == before.get(previous, 0) + 1
    assert after.get(TOKYO_DAY, 0) == before.get(TOKYO_DAY, 0) + 1


def test_an_incremental_refresh_equals_a_rebuild_and_runs_twice_to_the_same_rows():
    # given data of the last days, and the rollup brought up to date
    now = timezone.now()
    rng = random.Random(7)
    seed(now, rng=rng, surveys=20, tickets=12, days=5)
    assert rollups.refresh() > 0
    assert_same_figures(now, now=now)
    # when answers, replies, resolutions, a reopening and an SLA breach flagged without touching updated_at come in
    agent = UserFactory(username="late", role="Support")
    open_tickets = list(Ticket.objects.filter(first_responded_at__isnull=True).order_by("pk"))
    for ticket in open_tickets[:3]:
        services.ticket_reply(ticket=ticket, body="later", by=agent, now=timezone.now())
    resolved = Ticket.objects.filter(resolved_at__isnull=False).order_by("pk").first()
    if resolved is not None:
        services.ticket_status_change(ticket=resolved, status="open", by=agent, now=timezone.now())
    overdue = ticket_create(priority="urgent", now=timezone.now() - dt.timedelta(hours=3))
    Ticket.objects.filter(pk=overdue.pk).update(first_response_breached=True)
    survey = services.survey_create(customer=CustomerFactory(), kind="nps", send=False)
    services.survey_answer(survey=survey, score=2, now=timezone.now() - dt.timedelta(days=2))  # given late
    assert figures_rollup_refresh_task.apply().get() > 0
    later = timezone.now()
    # then the rollup's figures equal the raw ones, and its rows those of a rebuild
    assert_same_figures(later, now=later)
    refreshed = rollup_rows()
    rollups.rebuild()
    assert rollup_rows() == refreshed
    # and a second refresh with nothing new changes nothing
    rollups.refresh()
    assert rollup_rows() == refreshed


def test_the_commands_build_and_refresh(capsys):
    seed(timezone.now(), rng=random.Random(11), surveys=6, tickets=4, days=3)
    call_command("feedback_rollups_rebuild")
    rows = rollup_rows()
    call_command("feedback_rollups_refresh")
    assert rollup_rows() == rows and rows[0]
    assert "Rebuilt" in capsys.readouterr().out


def test_the_page_reads_the_rollup_and_says_as_of_when(client, django_assert_max_num_queries):
    # given the rollup never built: the page builds it once
    client.force_login(UserFactory(username="mk", role="Marketing"))
    survey = services.survey_create(customer=CustomerFactory(), kind="nps", send=False)
    services.survey_answer(survey=survey, score=10, now=timezone.now() - dt.timedelta(days=2))
    body = client.get(reverse("feedback:figures") + "?days=7").content.decode()
    assert 'id="figure-nps">100.0<' in body and 'id="refreshed-at"' in body
    # when an answer comes in today: counted at once (today is read from the raw rows)
    survey = services.survey_create(customer=CustomerFactory(), kind="nps", send=False)
    services.survey_answer(survey=survey, score=0, now=timezone.now())
    with django_assert_max_num_queries(20):
        body = client.get(reverse("feedback:figures") + "?days=7").content.decode()
    assert 'id="figure-nps">0.0<' in body
