"""Large API batches leave the journey advancement to a task run right after the commit (services/pending.py): the
stages come out exactly as if the batch had advanced them, the task is safe to run twice, and anything that moves
the same customers first takes what is pending, in the order the touchpoints happened."""

from __future__ import annotations

import datetime as dt
import json
import random

import pytest
from django.urls import reverse
from django.utils import timezone

from customers.services import customer_merge
from tests.factories import CustomerFactory, api_key_create
from touchpoints.models import CustomerJourney, JourneyPending, StageTransition, TouchpointType
from touchpoints.services import TouchpointData, journey_stage_move, touchpoint_record_batch
from touchpoints.services.pending import DEFER_FROM, journeys_fold_pending
from touchpoints.tasks import journeys_fold_pending_task

pytestmark = pytest.mark.django_db

NOW = timezone.now()
SLUGS = ["brand-exposure", "research", "price-value", "transaction", "cross-sell", "pr", "social-proof"]


def _types() -> dict[str, TouchpointType]:
    return {t.slug: t for t in TouchpointType.objects.filter(slug__in=SLUGS)}


def _random_items(customers: list[int], r: random.Random, types: dict, count: int) -> list[tuple[int, str, int]]:
    """(customer index, type slug, hours ago): a random history, several touchpoints per customer, any order."""
    return [(r.randrange(len(customers)), r.choice(SLUGS), r.randint(1, 500)) for _ in range(count)]


def _batch(customers: list[int], plan: list[tuple[int, str, int]], types: dict) -> list[TouchpointData]:
    return [
        TouchpointData(
            customer_id=customers[i], touchpoint_type=types[slug], occurred_at=NOW - dt.timedelta(hours=hours)
        )
        for i, slug, hours in plan
    ]


def _journeys(customers: list[int]) -> list[tuple]:
    """Each customer's stage and transitions, by position in ``customers`` (so two sets of customers compare)."""
    index = {pk: i for i, pk in enumerate(customers)}
    stages = {
        j.customer_id: (j.stage, j.stage_since) for j in CustomerJourney.objects.filter(customer_id__in=customers)
    }
    transitions = sorted(
        (index[t.customer_id], t.at, t.from_stage, t.to_stage, t.ended_at)
        for t in StageTransition.objects.filter(customer_id__in=customers)
    )
    return [(i, stages.get(pk)) for i, pk in enumerate(customers)], transitions


@pytest.mark.parametrize("seed", [1, 2])
def test_a_deferred_batch_ends_with_the_journeys_the_request_would_have_made(seed, django_capture_on_commit_callbacks):
    # given two identical sets of customers, some already along the journey, and one random batch for each
    r = random.Random(seed)
    types = _types()
    now_path = [CustomerFactory().pk for _ in range(40)]
    deferred_path = [CustomerFactory().pk for _ in range(40)]
    history = _random_items(now_path, r, types, 30)
    touchpoint_record_batch(items=_batch(now_path, history, types), source="import")
    touchpoint_record_batch(items=_batch(deferred_path, history, types), source="import")
    plan = _random_items(now_path, r, types, 2 * DEFER_FROM)
    # when one batch advances the journeys in the request and the other defers them
    touchpoint_record_batch(items=_batch(now_path, plan, types), source="api")
    with django_capture_on_commit_callbacks() as callbacks:
        recorded = touchpoint_record_batch(items=_batch(deferred_path, plan, types), source="api", defer_journeys=True)
    # then the deferred one wrote no transition yet, only pending rows, and published its task after the commit
    assert JourneyPending.objects.count() == len(recorded)
    assert _journeys(deferred_path) != _journeys(now_path)
    assert callbacks  # the task's publication waits for the commit
    # and once the task ran, the journeys are the same, transition for transition
    assert journeys_fold_pending_task([t.pk for t in recorded]) == len(recorded)
    assert _journeys(deferred_path) == _journeys(now_path)
    assert not JourneyPending.objects.exists()


def test_the_task_run_twice_changes_nothing_the_second_time():
    # given a deferred batch whose task ran
    types = _types()
    customers = [CustomerFactory().pk for _ in range(DEFER_FROM)]
    plan = [(i, "transaction", 5) for i in range(DEFER_FROM)]
    recorded = touchpoint_record_batch(items=_batch(customers, plan, types), source="api", defer_journeys=True)
    ids = [t.pk for t in recorded]
    journeys_fold_pending_task(ids)
    before = _journeys(customers)
    # when it runs again
    taken = journeys_fold_pending_task(ids)
    # then nothing changes
    assert taken == 0
    assert _journeys(customers) == before
    assert StageTransition.objects.filter(customer_id__in=customers).count() == DEFER_FROM


def test_a_small_batch_after_a_deferred_one_takes_its_pending_touchpoints_first():
    # given a deferred batch in which a customer researched a week ago (its task not run yet)
    types = _types()
    customers = [CustomerFactory().pk for _ in range(DEFER_FROM)]
    plan = [(i, "research", 24 * 7) for i in range(DEFER_FROM)]
    recorded = touchpoint_record_batch(items=_batch(customers, plan, types), source="api", defer_journeys=True)
    # when a single purchase of today is recorded for the first customer
    touchpoint_record_batch(items=_batch(customers, [(0, "transaction", 1)], types), source="api")
    # then the journey went through consideration before decision, in the order of events
    steps = StageTransition.objects.filter(customer_id=customers[0]).order_by("at")
    assert [(t.from_stage, t.to_stage) for t in steps] == [("", "consideration"), ("consideration", "decision")]
    # and the late task leaves that customer as it is, and advances the others
    journeys_fold_pending(touchpoint_ids=[t.pk for t in recorded])
    assert StageTransition.objects.filter(customer_id=customers[0]).count() == 2
    assert CustomerJourney.objects.filter(customer_id__in=customers, stage="consideration").count() == DEFER_FROM - 1


def test_a_manual_move_and_a_merge_take_pending_touchpoints_first():
    # given a deferred batch: every customer purchased yesterday
    types = _types()
    customers = [CustomerFactory().pk for _ in range(DEFER_FROM)]
    plan = [(i, "transaction", 24) for i in range(DEFER_FROM)]
    touchpoint_record_batch(items=_batch(customers, plan, types), source="api", defer_journeys=True)
    # when staff move the first customer back by hand, and merge the third into the second
    from customers.models import Customer

    journey_stage_move(customer=Customer.objects.get(pk=customers[0]), to_stage="awareness", reason="test", by=None)
    customer_merge(primary=Customer.objects.get(pk=customers[1]), duplicate=Customer.objects.get(pk=customers[2]))
    # then the purchase came first and the move after it; the merged customer kept the purchase's stage
    steps = StageTransition.objects.filter(customer_id=customers[0]).order_by("at", "id")
    assert [(t.from_stage, t.to_stage) for t in steps] == [("", "decision"), ("decision", "awareness")]
    assert CustomerJourney.objects.get(customer_id=customers[1]).stage == "decision"
    assert not JourneyPending.objects.filter(customer_id__in=customers[:3]).exists()


def test_the_periodic_catch_up_takes_what_a_lost_task_left():
    # given a deferred batch whose task never came (the broker was down), stored a minute ago
    types = _types()
    customers = [CustomerFactory().pk for _ in range(DEFER_FROM)]
    plan = [(i, "research", 2) for i in range(DEFER_FROM)]
    recorded = touchpoint_record_batch(items=_batch(customers, plan, types), source="api", defer_journeys=True)
    from touchpoints.models import Touchpoint

    Touchpoint.objects.filter(pk__in=[t.pk for t in recorded]).update(created_at=NOW - dt.timedelta(minutes=1))
    # when the funnel's beat job runs
    from touchpoints.tasks import funnel_fold_task

    funnel_fold_task()
    # then the journeys were advanced
    assert CustomerJourney.objects.filter(customer_id__in=customers, stage="consideration").count() == DEFER_FROM
    assert not JourneyPending.objects.exists()


def test_a_small_batch_is_never_deferred():
    types = _types()
    customers = [CustomerFactory().pk for _ in range(3)]
    touchpoint_record_batch(
        items=_batch(customers, [(i, "research", 1) for i in range(3)], types), source="api", defer_journeys=True
    )
    assert CustomerJourney.objects.filter(customer_id__in=customers).count() == 3
    assert not JourneyPending.objects.exists()


def test_the_api_defers_a_large_batch_and_answers_201(client, django_capture_on_commit_callbacks):
    _key, raw = api_key_create()
    customers = [CustomerFactory().pk for _ in range(DEFER_FROM)]
    body = {"touchpoints": [{"customer_id": pk, "type": "research", "channel": "web"} for pk in customers]}
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(
            reverse("api:touchpoints"),
            json.dumps(body),
            content_type="application/json",
            headers={"Authorization": f"Bearer {raw}"},
        )
    assert response.status_code == 201, response.content
    assert JourneyPending.objects.count() == DEFER_FROM
    journeys_fold_pending(touchpoint_ids=list(JourneyPending.objects.values_list("touchpoint_id", flat=True)))
    assert CustomerJourney.objects.filter(customer_id__in=customers, stage="consideration").count() == DEFER_FROM


def test_taking_pending_rows_looks_touchpoints_up_by_id_even_on_stale_statistics():
    # given: 20,000 touchpoints, and statistics that still count 20,000 pending rows (the table is emptied as fast
    # as it fills, so they are rarely fresh) when 50 are pending
    from django.db import connection

    from customers.pgarray import pg_array
    from touchpoints.models import Touchpoint
    from touchpoints.services.pending import TAKE_SQL

    customer = CustomerFactory()
    touchpoint_record_batch(items=[TouchpointData(customer_id=customer.pk, touchpoint_type=_types()["research"])])
    columns = ", ".join(f'"{f.column}"' for f in Touchpoint._meta.concrete_fields if not f.primary_key)
    with connection.cursor() as cursor:
        copies = f"INSERT INTO touchpoints_touchpoint ({columns}) SELECT {columns} FROM touchpoints_touchpoint"  # noqa: S608 (the model's own columns)
        cursor.execute(copies + ", generate_series(1, 20000)")
        cursor.execute(
            "INSERT INTO touchpoints_journeypending (touchpoint_id, customer_id) SELECT id, customer_id"
            " FROM touchpoints_touchpoint"
        )
        cursor.execute("ANALYZE touchpoints_touchpoint, touchpoints_journeypending")
        cursor.execute(
            "DELETE FROM touchpoints_journeypending WHERE touchpoint_id NOT IN"
            " (SELECT id FROM touchpoints_touchpoint ORDER BY id LIMIT 50)"
        )
        # when: the statement that takes a customer's pending rows is planned
        cursor.execute("EXPLAIN " + TAKE_SQL, [pg_array([customer.pk])])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    # then: the touchpoints are fetched by their ids, not by walking or hashing the whole table (880 ms at 1M)
    assert "Index Cond: (id = ANY" in plan, plan
    assert "Merge Join" not in plan and "Hash Join" not in plan and "Seq Scan on touchpoints_touchpoint" not in plan
