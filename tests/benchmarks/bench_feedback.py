"""Feedback: the queue pages, the ticket page, the SLA job, the figures page, with 200,000 tickets.

Targets: every queue page p95 < 40 ms with the same number of queries whatever the queue; the ticket page
p95 < 40 ms and < 100 KB (its conversation is 500 messages long, and no select box lists tickets or
customers); the SLA job over all open tickets < 5 s, measured on its worst run: the first one over the seeded
data, when thousands of deadlines have passed unflagged at once.

The section seeds its own tickets once (``feedback_seed``, set-based SQL, BENCH_TICKETS=200000 by default):
a year of tickets over the seeded customers, 90% resolved or closed, the rest new, open or waiting with
deadlines around now (many overdue), assigned to the seeded staff or to nobody. Every measurement that
writes runs in a transaction that is rolled back, so the benchmark database is left as it was.
"""

from __future__ import annotations

import json
import os
import time
from urllib.parse import urlencode

from django.conf import settings
from django.db import connection, transaction
from django.urls import reverse

from customers.pagination import _encode as encode_cursor
from feedback import services
from feedback.models import NO_DEADLINE, SlaPolicy, Ticket, TicketMessage
from tests.benchmarks.harness import Check, Context, Measurement, benchmark, floor_target, target

TICKETS = int(os.environ.get("BENCH_TICKETS") or 200_000)
QUEUE_P95_MS = 40
QUEUE_QUERIES = 8
FLOOR_RATIO = 1.5  # lists and the ticket page within 1.5x of a bare Django view showing the same rows
TICKET_P95_MS = 40
TICKET_MAX_BYTES = 100 * 1024
SLA_JOB_S = 5
MESSAGES_ON_THE_BIG_TICKET = 500
BIG_TICKET_SUBJECT = "Bench: the longest conversation"


class Rollback(Exception):
    pass


def feedback_seed(log=print) -> Ticket:
    """``TICKETS`` tickets (once per benchmark database) and a ticket with a long conversation; returns it."""
    big = Ticket.objects.filter(subject=BIG_TICKET_SUBJECT).first()
    if big is not None and Ticket.objects.count() >= TICKETS:
        return big
    started = time.monotonic()
    log(f"  feedback: seeding {TICKETS:,} tickets…")
    policies = {p.priority: p.pk for p in SlaPolicy.objects.filter(is_follow_up=False)}
    staff = list(
        Ticket._meta.get_field("assignee")
        .related_model.objects.filter(username__in=["manager", "support", "yamada", "suzuki"])
        .values_list("pk", flat=True)
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            WITH c AS (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM customers_customer),
            n AS (SELECT count(*) AS total FROM customers_customer),
            g AS (
                SELECT i, abs(hashtext(i::text)) %% 100 AS k, abs(hashtext('p' || i::text)) %% 100 AS pk,
                       (ARRAY['complaint','question','request','suggestion','praise'])[1 + i %% 5] AS kind,
                       (ARRAY['email','phone','web_form','widget','line','store'])[1 + i %% 6] AS channel
                FROM generate_series(1, %(tickets)s) AS i
            ),
            t AS (
                SELECT g.*, c.id AS customer_id,
                       CASE WHEN g.pk < 5 THEN 'urgent' WHEN g.pk < 25 THEN 'high' WHEN g.pk < 85 THEN 'normal'
                            ELSE 'low' END AS priority,
                       CASE WHEN g.k < 3 THEN 'new' WHEN g.k < 8 THEN 'open' WHEN g.k < 10 THEN 'waiting'
                            WHEN g.k < 15 THEN 'resolved' ELSE 'closed' END AS status,
                       CASE WHEN g.k < 10 THEN now() - make_interval(mins => (g.i * 37) %% (14 * 24 * 60))
                            ELSE now() - make_interval(days => 14 + g.i %% 351, mins => g.i %% 1440) END AS created
                FROM g JOIN n ON true JOIN c ON c.rn = 1 + (g.i::bigint * 7919) %% n.total
            ),
            s AS (
                SELECT t.*,
                       t.created + make_interval(mins => CASE t.priority WHEN 'urgent' THEN 60 WHEN 'high' THEN 240
                           WHEN 'normal' THEN 1440 ELSE 2880 END) AS fr_due,
                       t.created + make_interval(mins => CASE t.priority WHEN 'urgent' THEN 480 WHEN 'high' THEN 2880
                           WHEN 'normal' THEN 7200 ELSE 14400 END) AS res_due,
                       CASE WHEN t.status = 'new' THEN NULL
                            ELSE t.created + make_interval(mins => 10 + t.i %% 600) END AS responded,
                       CASE WHEN t.status IN ('resolved', 'closed')
                            THEN t.created + make_interval(mins => 120 + t.i %% 9000) END AS resolved
                FROM t
            )
            INSERT INTO feedback_ticket (
                customer_id, kind, channel, subject, body, priority, status, assignee_id, order_reference,
                sla_policy_id, first_response_due_at, resolution_due_at, first_responded_at, resolved_at, closed_at,
                first_response_breached, resolution_breached, sla_paused_at, next_due_at, next_warn_at,
                loop_closed_at, idempotency_key, created_at, updated_at, subject_key, subject_params)
            SELECT customer_id, kind, channel,
                   'Bench ticket ' || i || ': ' || (ARRAY['kettle leaks','late delivery','wrong size','refund',
                       'great service','lid broken','invoice'])[1 + i %% 7],
                   'The customer wrote a few lines about it. ' || repeat('Details. ', 1 + i %% 20),
                   priority, status,
                   CASE WHEN i %% 10 < 3 THEN NULL
                        ELSE (%(staff)s::bigint[])[1 + i %% cardinality(%(staff)s::bigint[])] END,
                   CASE WHEN i %% 4 = 0 THEN 'A-' || i ELSE '' END,
                   (%(policies)s::jsonb ->> priority)::bigint,
                   fr_due, res_due, responded, resolved,
                   CASE WHEN status = 'closed' THEN resolved + interval '1 day' END,
                   COALESCE(responded > fr_due, false), COALESCE(resolved > res_due, false),
                   CASE WHEN status = 'waiting' THEN created + interval '1 hour' END,
                   CASE WHEN status IN ('new', 'open') THEN CASE WHEN responded IS NULL THEN fr_due ELSE res_due END
                        ELSE %(no_deadline)s END,
                   CASE WHEN status IN ('new', 'open')
                        THEN CASE WHEN responded IS NULL THEN fr_due ELSE res_due END - interval '1 hour'
                        ELSE %(no_deadline)s END,
                   NULL, '', created, created, '', '{}'::jsonb
            FROM s
            """,
            {
                "tickets": TICKETS,
                "staff": staff or [None],
                "policies": json.dumps(policies),
                "no_deadline": NO_DEADLINE,
            },
        )
        big = services.ticket_open(
            customer=Ticket.objects.order_by("id").first().customer,
            subject=BIG_TICKET_SUBJECT,
            body="A customer who writes a lot. " * 40,
            priority="high",
        )
        author = staff[0] if staff else None
        TicketMessage.objects.bulk_create(
            [
                TicketMessage(
                    ticket=big,
                    customer_id=big.customer_id,
                    kind="reply" if i % 3 else "note",
                    body=f"Message {i}. " + "Some words about the kettle and the lid. " * 15,
                    author_id=author,
                )
                for i in range(MESSAGES_ON_THE_BIG_TICKET)
            ],
            batch_size=1000,
        )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE feedback_ticket")
        cursor.execute("VACUUM ANALYZE feedback_ticketmessage")
    log(f"  feedback: seeded in {time.monotonic() - started:.0f}s")
    return big


def _is_queue_query(sql: str) -> bool:
    return 'FROM "feedback_ticket"' in sql and f"LIMIT {settings.TSUNAGU_PAGE_SIZE + 1}" in sql


def _queue(ctx: Context, name: str, **params) -> Measurement:
    url = reverse("feedback:queue") + ("?" + urlencode(params) if params else "")
    m = ctx.time_page(f"queue: {name}", url, main_query=_is_queue_query)
    return m.check(
        target(f"p95 < {QUEUE_P95_MS} ms", m.p95_ms, lambda v: v < QUEUE_P95_MS),
        target(f"<= {QUEUE_QUERIES} queries", m.queries, lambda v: v <= QUEUE_QUERIES),
        floor_target(m, FLOOR_RATIO),
    )


@benchmark("feedback")
def queues(ctx: Context) -> list[Measurement]:
    feedback_seed()
    results = [
        _queue(ctx, "all open (default)"),
        _queue(ctx, "my tickets", queue="mine"),
        _queue(ctx, "unassigned", queue="unassigned"),
        _queue(ctx, "breaching soon", queue="breaching"),
        _queue(ctx, "everything (newest first)", queue="all"),
        _queue(ctx, "everything by deadline", queue="all", sort="due"),
        _queue(ctx, "status new", queue="all", status="new"),
        _queue(ctx, "status waiting", queue="all", status="waiting"),
        _queue(ctx, "status closed (newest first)", queue="all", status="closed"),
        _queue(ctx, "priority urgent", queue="open", priority="urgent"),
        _queue(ctx, "kind praise", queue="open", kind="praise"),
        _queue(ctx, "search subject 'lid broken'", queue="all", q="lid broken"),
        _queue(ctx, "search a customer's name '山本'", queue="all", q="山本"),
    ]
    half = Ticket.objects.count() // 2
    created, pk = Ticket.objects.order_by("-created_at", "-id").values_list("created_at", "id")[half]
    results.append(_queue(ctx, "everything, a page half way (keyset)", queue="all", after=encode_cursor(created, pk)))
    due, pk = Ticket.objects.order_by("next_due_at", "id").values_list("next_due_at", "id")[half]
    deep = _queue(ctx, "everything by deadline, half way", queue="all", sort="due", after=encode_cursor(due, pk))
    deep.note = "90% of tickets share the no-deadline key: the keyset filter walks the ties (see the report)"
    results.append(deep)
    counts = {m.queries for m in results if m.queries is not None}
    results[0].check(Check(target="same queries on every queue", passed=len(counts) == 1))
    return results


@benchmark("feedback")
def ticket_page(ctx: Context) -> list[Measurement]:
    big = feedback_seed()
    m = ctx.time_page(
        f"ticket page ({MESSAGES_ON_THE_BIG_TICKET} messages)",
        big.get_absolute_url(),
        main_query=lambda sql: 'FROM "feedback_ticketmessage"' in sql,
    )
    size = len(ctx.client.get(big.get_absolute_url()).content)
    m.note = f"{size / 1024:.1f} KB"
    m.check(
        target(f"p95 < {TICKET_P95_MS} ms", m.p95_ms, lambda v: v < TICKET_P95_MS),
        target("< 100 KB", size, lambda v: v < TICKET_MAX_BYTES),
        floor_target(m, FLOOR_RATIO),
    )
    ordinary = Ticket.objects.filter(status="open").order_by("id").first()
    n = ctx.time_page("ticket page (an open ticket)", ordinary.get_absolute_url())
    n.check(
        target(f"p95 < {TICKET_P95_MS} ms", n.p95_ms, lambda v: v < TICKET_P95_MS),
        Check(target="same queries as the long one", passed=n.queries == m.queries),
    )
    return [m, n]


@benchmark("feedback")
def sla_job(ctx: Context) -> list[Measurement]:
    """The periodic SLA job's first run over the seeded data (thousands of overdue tickets at once), then a
    second run a minute later (the steady state: nothing new), both rolled back."""
    feedback_seed()
    open_tickets = Ticket.objects.filter(status__in=["new", "open", "waiting"]).count()
    timings: dict[str, float] = {}
    results: dict[str, services.SlaCheckResult] = {}
    try:
        with transaction.atomic():
            started = time.perf_counter()
            results["first"] = services.sla_check()
            timings["first"] = time.perf_counter() - started
            started = time.perf_counter()
            results["second"] = services.sla_check()
            timings["second"] = time.perf_counter() - started
            raise Rollback
    except Rollback:
        pass
    first, second = results["first"], results["second"]
    flagged = first.first_response_breaches + first.resolution_breaches
    return [
        Measurement(
            name=f"SLA job, first run over {open_tickets:,} open tickets",
            value=timings["first"],
            unit="s",
            note=f"{flagged:,} breaches flagged, {first.warned_soon:,} soon, {first.emails} digests",
        ).check(target(f"< {SLA_JOB_S} s", timings["first"], lambda v: v < SLA_JOB_S)),
        Measurement(name="SLA job, next run (steady state)", value=timings["second"], unit="s").check(
            target(f"< {SLA_JOB_S} s", timings["second"], lambda v: v < SLA_JOB_S),
            Check(target="second run changes nothing", passed=second.as_dict() == dict.fromkeys(second.as_dict(), 0)),
        ),
    ]


@benchmark("feedback")
def figures_page(ctx: Context) -> list[Measurement]:
    feedback_seed()
    m = ctx.time_page("figures (last 30 days)", reverse("feedback:figures"))
    return [m]
