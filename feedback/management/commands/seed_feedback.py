"""``manage.py seed_feedback``: a year of demo tickets and surveys (demo data only).

    manage.py seed_feedback [--seed 42] [--force] [--now YYYY-MM-DDTHH:MM+09:00]

Runs after ``seed_demo`` (its customers and support staff). About one ticket per five customers over the
last year — complaints, questions, requests, suggestions, a little praise, in the customer's language —
assigned to the demo support staff and worked through the feedback services with the time of each step
(``now``): replies, a wait on the customer now and then, resolution mostly within the SLA and sometimes
late, closing a week later. Resolving sends the CSAT survey, about half of which are answered; a quarterly
NPS survey goes to a sample of the customers (promoters, passives and detractors in realistic shares).
Unhappy answers open follow-up tickets, and most of those loops are closed by a reply. A handful of
tickets are still new, open or waiting on the customer now; the SLA job (every minute in the worker)
flags those already overdue.

A few services take no time and write "now" (a survey's ``created_at``, its invitation's outbox row and
"feedback-request" touchpoint, the ticket's ``updated_at``, the customer's ``last_activity_at``): the
command moves those to the time of the event afterwards, with the UPDATEs in ``_redate`` (demo data only).
The outbox rows of the history are marked sent at their time (the worker must not mail a year of replies
when the demo starts); skipped rows keep their reason.

Same database, same ``--seed``: the same tickets, replies, scores and times. Idempotent: does nothing when
demo tickets exist, or when other tickets exist unless ``--force``.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from customers import demo_data as customer_demo_data
from customers.models import Customer, CustomerActivity
from customers.progress import Progress
from customers.seeding import quiet_logs
from feedback import demo_data, services
from feedback.models import Status, Survey, Ticket, TicketMessage
from touchpoints.models import CustomerJourney, Stage, Touchpoint
from touchpoints.outreach import inbound
from touchpoints.outreach.models import OutboundMessage

BUYERS_SHARE = 0.85  # of the tickets, from customers who have bought

KEY_PREFIX = "demo:"


def rng(seed: int, kind: str) -> random.Random:
    return random.Random(f"{seed}:feedback:{kind}")


def weighted(r: random.Random, choices: list[tuple[Any, int]]) -> Any:
    return r.choices([c for c, _w in choices], weights=[w for _c, w in choices])[0]


@dataclass
class Seeded:
    """What the run wrote, and when each thing that services date "now" really happened."""

    tickets: int = 0
    follow_ups: int = 0
    loops_closed: int = 0
    csat: int = 0
    nps: int = 0
    answers: int = 0
    survey_at: dict[int, dt.datetime] = field(default_factory=dict)  # survey id -> sent at
    message_at: dict[int, dt.datetime] = field(default_factory=dict)  # outbox message id -> sent at
    ticket_at: dict[int, dt.datetime] = field(default_factory=dict)  # ticket id -> last change
    customer_at: dict[int, dt.datetime] = field(default_factory=dict)  # customer id -> latest event


def seed_canned_responses() -> int:
    """The demo's canned responses, each once (by title): running twice adds nothing."""
    from feedback.models import CannedResponse

    added = 0
    for title, body_ja, body_en in demo_data.CANNED_RESPONSES:
        if not CannedResponse.objects.filter(title__iexact=title).exists():
            services.canned_response_save(title=title, body=body_ja, body_en=body_en)
            added += 1
    return added


class FeedbackSeeder:
    def __init__(self, *, seed: int, end: dt.datetime, write: Callable[[str], object] | None = None) -> None:
        self.write = write  # where a progress line goes at each tenth of the tickets
        self.seed, self.end = seed, end
        self.r = rng(seed, "tickets")
        self.answers_r = rng(seed, "answers")
        self.done = Seeded()
        User = get_user_model()
        names = [u for u, *_rest, role, _su in customer_demo_data.DEMO_STAFF if role == "Support"]
        self.agents = list(User.objects.filter(username__in=names, is_active=True).order_by("username"))
        self.fallback = User.objects.filter(username="manager").first() or (self.agents[0] if self.agents else None)

    # --- helpers ---------------------------------------------------------------------------------

    def _lang(self, customer: Customer) -> str:
        return "ja" if (customer.preferred_language or "ja").startswith("ja") else "en"

    def _mark(self, ticket: Ticket, at: dt.datetime) -> None:
        self.done.ticket_at[ticket.pk] = max(at, self.done.ticket_at.get(ticket.pk, at))
        customer_id = ticket.customer_id
        self.done.customer_at[customer_id] = max(at, self.done.customer_at.get(customer_id, at))

    def _reply(self, ticket: Ticket, body: str, *, by: Any, at: dt.datetime, status: str = "") -> Ticket:
        message = services.ticket_reply(ticket=ticket, body=body, by=by, status=status, now=at)
        if message.outbound is not None:
            self.done.message_at[message.outbound.pk] = at
        self._mark(ticket, at)
        return message.ticket

    def _status(self, ticket: Ticket, status: str, *, by: Any, at: dt.datetime) -> Ticket:
        ticket = services.ticket_status_change(ticket=ticket, status=status, by=by, now=at)
        self._mark(ticket, at)
        return ticket

    def _csat_of(self, ticket: Ticket, at: dt.datetime) -> Survey | None:
        """The CSAT survey resolving ``ticket`` sent (dated by ``_redate``)."""
        survey = Survey.objects.filter(ticket=ticket, kind=Survey.Kind.CSAT).first()
        if survey is not None and survey.pk not in self.done.survey_at:
            self.done.survey_at[survey.pk] = at
            self.done.csat += 1
            if survey.outbound_id:
                self.done.message_at[survey.outbound_id] = at
        return survey

    def _between(self, start: dt.datetime, end: dt.datetime, low: float = 0.2, high: float = 0.9) -> dt.datetime:
        return start + (end - start) * self.r.uniform(low, high)

    # --- tickets ---------------------------------------------------------------------------------

    def ticket(self, customer: Customer, *, opened_at: dt.datetime, number: int, state: str = "") -> Ticket:
        """One ticket from the customer, worked to ``state`` ("" for the history: resolved or closed)."""
        r, lang = self.r, self._lang(customer)
        kind = weighted(r, demo_data.KINDS)
        subject, body = r.choice(demo_data.TICKETS[kind][lang])
        priority = weighted(r, demo_data.COMPLAINT_PRIORITIES if kind == "complaint" else demo_data.PRIORITIES)
        agent = r.choice(self.agents) if self.agents else self.fallback
        ticket = services.ticket_open(
            customer=customer,
            subject=subject,
            body=body,
            kind=kind,
            channel=weighted(r, demo_data.CHANNELS),
            priority=priority,
            assignee=agent,
            idempotency_key=f"{KEY_PREFIX}{self.seed}:{number}",
            now=opened_at,
        )
        self.done.tickets += 1
        self._mark(ticket, opened_at)
        if state == Status.NEW:
            return ticket
        late = r.random() < demo_data.BREACH_SHARE and not state
        late_first = late and r.random() < 0.5
        due = ticket.first_response_due_at or opened_at + dt.timedelta(hours=8)
        reply_at = due + dt.timedelta(hours=r.uniform(1, 30)) if late_first else self._between(opened_at, due)
        if state:  # still being worked on: whatever happened so far happened before now
            reply_at = min(reply_at, self._between(opened_at, self.end, 0.3, 0.7))
        waits = state == Status.WAITING or (not state and r.random() < demo_data.WAITING_SHARE)
        if waits:
            ticket = self._reply(ticket, demo_data.WAITING_REPLIES[lang], by=agent, at=reply_at, status=Status.WAITING)
            if state:
                return ticket
            answered_at = reply_at + dt.timedelta(hours=r.uniform(3, 60))
            ticket = self._status(ticket, Status.OPEN, by=None, at=answered_at)
            work_from = answered_at
        else:
            ticket = self._reply(ticket, r.choice(demo_data.REPLIES[lang]), by=agent, at=reply_at)
            if state:
                return ticket
            work_from = reply_at
        resolution_due = ticket.resolution_due_at or work_from + dt.timedelta(days=3)
        if late and not late_first:
            resolved_at = max(resolution_due, work_from) + dt.timedelta(hours=r.uniform(2, 72))
        elif resolution_due > work_from:
            resolved_at = self._between(work_from, resolution_due, 0.1, 0.8)
        else:
            resolved_at = work_from + dt.timedelta(minutes=r.uniform(10, 90))
        resolved_at = min(resolved_at, self.end - dt.timedelta(minutes=5))
        ticket = self._reply(
            ticket, r.choice(demo_data.REPLIES[lang]), by=agent, at=resolved_at, status=Status.RESOLVED
        )
        survey = self._csat_of(ticket, resolved_at)
        closed_at = resolved_at + dt.timedelta(days=demo_data.CLOSED_AFTER_DAYS)
        if survey is not None and self.answers_r.random() < demo_data.CSAT_ANSWER_SHARE:
            answered_at = resolved_at + dt.timedelta(hours=self.answers_r.uniform(1, 72))
            if answered_at < self.end:
                score = weighted(self.answers_r, demo_data.CSAT_SCORES)
                band = "low" if score <= 2 else "high"
                comment = self.answers_r.choice(demo_data.CSAT_COMMENTS[band][lang])
                self._answer(survey, score=score, comment=comment, at=answered_at)
                closed_at = max(closed_at, answered_at + dt.timedelta(days=1))
        if closed_at < self.end:
            ticket = self._status(ticket, Status.CLOSED, by=agent, at=closed_at)
        return ticket

    # --- surveys ---------------------------------------------------------------------------------

    def _answer(self, survey: Survey, *, score: int, comment: str, at: dt.datetime) -> None:
        survey, recorded = services.survey_answer(survey=survey, score=score, comment=comment, now=at)
        if not recorded:
            return
        self.done.answers += 1
        self.done.customer_at[survey.customer_id] = max(at, self.done.customer_at.get(survey.customer_id, at))
        follow_up = Ticket.objects.filter(source_survey=survey).select_related("assignee").first()
        if follow_up is None:
            return
        self.done.follow_ups += 1
        self._mark(follow_up, at)
        r = self.answers_r
        if r.random() >= demo_data.LOOP_CLOSED_SHARE and at > self.end - dt.timedelta(days=demo_data.LOOP_OPEN_DAYS):
            return  # a recent answer nobody came back to yet: an open follow-up
        agent = follow_up.assignee or self.fallback
        due = follow_up.first_response_due_at or at + dt.timedelta(hours=4)
        reply_at = self._between(at, due, 0.2, 1.1) if due > at else at + dt.timedelta(hours=1)
        if reply_at >= self.end:
            return
        lang = self._lang(survey.customer)
        follow_up = self._reply(follow_up, demo_data.LOOP_REPLIES[lang], by=agent, at=reply_at)
        self.done.loops_closed += 1
        resolved_at = reply_at + dt.timedelta(hours=r.uniform(2, 30))
        if resolved_at < self.end:
            self._status(follow_up, Status.RESOLVED, by=agent, at=resolved_at)

    def nps_wave(self, customers: list[Customer], *, at: dt.datetime) -> None:
        """The quarterly NPS survey, to a sample of the customers who have bought (an answer is a retention
        touchpoint: asking everyone would carry most prospects past decision)."""
        r = self.answers_r
        buyers = self.buyers()
        eligible = [c for c in customers if c.created_at < at and c.pk in buyers]
        for customer in r.sample(eligible, round(len(eligible) * demo_data.NPS_SAMPLE_SHARE)):
            survey = services.survey_create(customer=customer, kind=Survey.Kind.NPS, source="demo NPS wave")
            self.done.nps += 1
            self.done.survey_at[survey.pk] = at
            self.done.customer_at[customer.pk] = max(at, self.done.customer_at.get(customer.pk, at))
            if survey.outbound_id:
                self.done.message_at[survey.outbound_id] = at
            if r.random() >= demo_data.NPS_ANSWER_SHARE:
                continue
            answered_at = at + dt.timedelta(hours=r.uniform(1, 24 * 7))
            if answered_at >= self.end:
                continue
            band = weighted(r, demo_data.NPS_BANDS)
            score = {"promoter": r.choice([9, 10, 10]), "passive": r.choice([7, 8])}.get(band) or r.choice(
                [2, 4, 5, 5, 6, 6, 6]
            )
            comment = r.choice(demo_data.NPS_COMMENTS[band][self._lang(customer)])
            self._answer(survey, score=score, comment=comment, at=answered_at)

    def buyers(self) -> set[int]:
        """The customers who have reached decision (bought, or asked before buying) or beyond."""
        return set(
            CustomerJourney.objects.filter(stage__in=[Stage.DECISION, Stage.RETENTION]).values_list(
                "customer_id", flat=True
            )
        )

    # --- the run ---------------------------------------------------------------------------------

    def run(self) -> Seeded:
        customers = list(Customer.objects.order_by("pk"))
        if not customers:
            return self.done
        r = self.r
        start = self.end - dt.timedelta(days=demo_data.HISTORY_DAYS)
        count = max(1, round(len(customers) * demo_data.TICKETS_PER_CUSTOMER))
        open_now = min(demo_data.OPEN_NOW, max(3, count // 8), count)  # at least one new, open and waiting
        history = count - open_now
        plan: list[tuple[dt.datetime, Customer, str]] = []
        # Most tickets come from customers who have bought (complaints, returns, "how do I"); a few are pre-sale
        # questions, which bring a prospect to decision, as the catalogue has it.
        buyers = self.buyers()
        bought = [c for c in customers if c.pk in buyers] or customers

        def who() -> Customer:
            return r.choice(bought if r.random() < BUYERS_SHARE else customers)

        for _i in range(history):
            customer = who()
            opened_at = self._business_time(self._between(max(start, customer.created_at), self.end, 0.0, 0.97))
            plan.append((min(opened_at, self.end - dt.timedelta(days=5)), customer, ""))
        states = [Status.NEW, Status.OPEN, Status.WAITING]
        for i in range(open_now):
            customer = who()
            opened_at = self.end - dt.timedelta(hours=r.uniform(2, 80))
            plan.append((opened_at, customer, states[i % len(states)]))
        # Tickets in both languages whenever there are customers of both: the draws above depend on the date (the
        # business hours move them), and a dozen of them could all fall on Japanese-speaking customers.
        for lang in ("ja", "en"):
            speakers = [c for c in customers if self._lang(c) == lang]
            langs = [self._lang(c) for _at, c, _state in plan]
            spare = [i for i, other in enumerate(langs) if langs.count(other) > 1]  # keeps the other language
            if speakers and spare and lang not in langs:
                index = r.choice(spare)
                opened_at, _customer, state = plan[index]
                plan[index] = (opened_at, r.choice(speakers), state)
        waves = [(self.end - dt.timedelta(days=days), None, "nps") for days in demo_data.NPS_WAVES_DAYS_AGO]
        plan.sort(key=lambda item: item[0])
        waves.sort(key=lambda item: item[0])
        number = 0
        progress = Progress(self.write, total=len(plan), label="Feedback", unit="tickets")
        for opened_at, customer, state in sorted(plan + waves, key=lambda item: (item[0], item[2] == "nps")):
            progress.step(state != "nps")
            if state == "nps":
                self.nps_wave(customers, at=opened_at)
                continue
            number += 1
            self.ticket(customer, opened_at=max(opened_at, customer.created_at), number=number, state=state)
        return self.done

    def _business_time(self, at: dt.datetime) -> dt.datetime:
        """Most customers write during the day: move a night-time message to the morning (local time)."""
        local = timezone.localtime(at)
        if 8 <= local.hour < 21:
            return at
        morning = local.replace(hour=self.r.randint(8, 11), minute=self.r.randint(0, 59))
        if local.hour >= 21:
            morning += dt.timedelta(days=1)
        return morning


REDATE_BATCH = 1000  # rows per UPDATE in ``_redate``


def _chunks(items: dict, size: int = REDATE_BATCH):
    pairs = list(items.items())
    for start in range(0, len(pairs), size):
        yield dict(pairs[start : start + size])


def _redate(done: Seeded, *, started: dt.datetime) -> None:
    """Demo data only: the rows services dated "now" get the time of their event (see the module docstring).

    A thousand rows per UPDATE (``bulk_update``: a CASE per field, on PostgreSQL and SQLite alike): one UPDATE per
    row was about a tenth of the run's queries."""
    for chunk in _chunks(done.survey_at):
        Survey.objects.bulk_update([Survey(pk=pk, created_at=at) for pk, at in chunk.items()], ["created_at"])
        keys = {f"feedback:survey:{pk}:sent": at for pk, at in chunk.items()}
        sent = list(Touchpoint.objects.filter(idempotency_key__in=list(keys)).only("pk", "idempotency_key"))
        for touchpoint in sent:
            touchpoint.occurred_at = keys[touchpoint.idempotency_key]
        Touchpoint.objects.bulk_update(sent, ["occurred_at"])
    for chunk in _chunks(done.message_at):
        OutboundMessage.objects.bulk_update(
            [OutboundMessage(pk=pk, created_at=at, next_attempt_at=at, updated_at=at) for pk, at in chunk.items()],
            ["created_at", "next_attempt_at", "updated_at"],
        )
        queued = OutboundMessage.objects.filter(pk__in=list(chunk), status=OutboundMessage.Status.QUEUED)
        sent = [
            OutboundMessage(pk=pk, status=OutboundMessage.Status.SENT, skip_reason="", enqueued_at=None)
            for pk in queued.values_list("pk", flat=True)
        ]
        for message in sent:
            message.handed_over_at = message.sent_at = chunk[message.pk]
        OutboundMessage.objects.bulk_update(sent, ["status", "skip_reason", "enqueued_at", "handed_over_at", "sent_at"])
    for chunk in _chunks(done.ticket_at):
        Ticket.objects.bulk_update([Ticket(pk=pk, updated_at=at) for pk, at in chunk.items()], ["updated_at"])
    # The last activity: services moved it to "now" through the invitations' touchpoints; put it back at the
    # customer's newest touchpoint or seeded event.
    for chunk in _chunks(done.customer_at):
        newest = dict(
            Touchpoint.objects.filter(customer_id__in=list(chunk))
            .order_by()
            .values_list("customer_id")
            .annotate(m=Max("occurred_at"))
        )
        moved = list(
            CustomerActivity.objects.filter(customer_id__in=list(chunk), last_activity_at__gte=started).only(
                "pk", "customer_id"
            )
        )
        for activity in moved:
            at = chunk[activity.customer_id]
            activity.last_activity_at = max(at, newest.get(activity.customer_id) or at)
        CustomerActivity.objects.bulk_update(moved, ["last_activity_at"])


class Command(BaseCommand):
    help = "Create a year of demo tickets, replies and surveys (after seed_demo; demo data only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=42, help="Random seed: the same seed gives the same data.")
        parser.add_argument("--force", action="store_true", help="Seed even when (non-demo) tickets exist.")
        parser.add_argument(
            "--now",
            type=dt.datetime.fromisoformat,
            default=None,
            help="When the history ends (ISO date and time with its offset; default now): pins every timestamp.",
        )

    def handle(self, *args, **options) -> None:
        started_clock = time.monotonic()
        canned = seed_canned_responses()
        if canned:
            self.stdout.write(f"Feedback: {canned} canned responses (Japanese and English).")
        if Ticket.objects.filter(idempotency_key__startswith=KEY_PREFIX).exists() or (
            Ticket.objects.exists() and not options["force"]
        ):
            self.stdout.write("Tickets exist already: no feedback demo data added (--force to add it).")
            return
        started = timezone.now()
        end = options["now"] or started.replace(microsecond=0) - dt.timedelta(minutes=1)
        if timezone.is_naive(end):
            end = timezone.make_aware(end)
        # One read of the SLA policies, the business calendar and the touchpoint types for the whole run (the
        # services read them once per ticket otherwise): nothing changes them while the seed runs.
        with quiet_logs(options["verbosity"]), transaction.atomic(), inbound.batch():
            write = self.stdout.write if options["verbosity"] >= 1 else None
            done = FeedbackSeeder(seed=options["seed"], end=end, write=write).run()
            _redate(done, started=started)
        messages = TicketMessage.objects.filter(ticket__idempotency_key__startswith=KEY_PREFIX).count()
        self.stdout.write(
            self.style.SUCCESS(
                f"Feedback: {done.tickets} tickets ({messages} messages), {done.csat} CSAT and {done.nps} NPS "
                f"surveys, {done.answers} answers, {done.follow_ups} follow-ups ({done.loops_closed} loops closed) "
                f"in {time.monotonic() - started_clock:.1f}s."
            )
        )
