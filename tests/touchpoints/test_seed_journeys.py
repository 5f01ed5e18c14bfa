"""manage.py seed_demo's journeys: touchpoints, stage transitions and journeys as touchpoint_record leaves them."""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count, Max

from customers.models import Customer
from customers.seeding import tables as seed_tables
from tests.factories import CustomerFactory
from touchpoints.models import STAGE_RANK, CustomerJourney, StageTransition, Touchpoint, TouchpointType
from touchpoints.services import TouchpointData, touchpoint_record_batch

# In the past, so that replayed touchpoints are never "in the future" for touchpoint_record.
TODAY = "--today=2026-06-01"
NOW = dt.datetime(2026, 5, 31, 15, 0, tzinfo=dt.UTC)  # midnight of 1 June in Tokyo


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", "--demo-logins", *args, stdout=out)
    return out.getvalue()


def transitions_by_customer() -> dict[int, list[StageTransition]]:
    chains: dict[int, list[StageTransition]] = defaultdict(list)
    for transition in StageTransition.objects.select_related("touchpoint").order_by("customer_id", "at", "id"):
        chains[transition.customer_id].append(transition)
    return chains


def journey_snapshot() -> list[tuple]:
    """Every touchpoint as a user sees it, with its customer's email and type's slug (ids aside)."""
    return list(
        Touchpoint.objects.order_by("customer__email", "customer__created_at", "occurred_at", "id").values_list(
            "customer__email",
            "type__slug",
            "stage",
            "channel",
            "direction",
            "occurred_at",
            "summary",
            "amount",
            "order_reference",
            "campaign",
            "utm_source",
            "metadata",
            "source",
            "recorded_by_user__username",
        )
    )


@pytest.mark.django_db
def test_seeded_journeys_hold_the_invariants_of_touchpoint_record():
    # given a small seed, with one long history
    seed("--customers=300", "--seed=11", "--long-history=400", TODAY)
    customers = {c.pk: c for c in Customer.objects.select_related("activity")}
    journeys = {j.customer_id: j for j in CustomerJourney.objects.all()}
    newest = dict(
        Touchpoint.objects.values("customer_id").annotate(m=Max("occurred_at")).values_list("customer_id", "m")
    )
    chains = transitions_by_customer()

    # then every customer has a journey, and their last activity is their newest touchpoint
    assert set(journeys) == set(customers) == set(newest) == set(chains)
    for pk, customer in customers.items():
        assert customer.last_activity_at >= newest[pk]
        assert customer.created_at <= newest[pk] <= NOW

    # and the transitions chain: from nothing, always forward, each closed when the next begins
    for pk, chain in chains.items():
        assert chain[0].from_stage == ""
        for earlier, later in zip(chain, chain[1:], strict=False):
            assert later.from_stage == earlier.to_stage
            assert STAGE_RANK[later.to_stage] > STAGE_RANK[earlier.to_stage]
            assert earlier.ended_at == later.at
        assert chain[-1].ended_at is None
        for transition in chain:
            # made by a touchpoint of the stage entered, when it happened, on its channel
            assert not transition.is_manual and transition.touchpoint is not None
            assert transition.touchpoint.customer_id == pk
            assert transition.touchpoint.stage == transition.to_stage
            assert transition.touchpoint.occurred_at == transition.at
            assert transition.channel == transition.touchpoint.channel
        # the journey is where the last transition led
        journey = journeys[pk]
        assert (journey.stage, journey.stage_since, journey.created_at) == (
            chain[-1].to_stage,
            chain[-1].at,
            chain[0].at,
        )

    # and no touchpoint of a later stage came before the transition into that stage
    highest = defaultdict(lambda: -1)
    entered = {(t.customer_id, t.touchpoint_id) for chain in chains.values() for t in chain}
    for touchpoint in Touchpoint.objects.order_by("customer_id", "occurred_at", "id"):
        rank = STAGE_RANK[touchpoint.stage]
        if rank > highest[touchpoint.customer_id]:
            assert (touchpoint.customer_id, touchpoint.pk) in entered
            highest[touchpoint.customer_id] = rank
        assert touchpoint.stage == touchpoint.type.stage
        assert customers[touchpoint.customer_id].created_at <= touchpoint.occurred_at <= NOW


@pytest.mark.django_db
def test_seeded_journeys_are_what_touchpoint_record_makes_of_the_same_touchpoints():
    # given seeded journeys
    seed("--customers=120", "--seed=12", TODAY)
    chains = transitions_by_customer()
    types = {t.pk: t for t in TouchpointType.objects.all()}
    sample = list(Customer.objects.annotate(n=Count("touchpoints")).filter(n__lte=1000).order_by("pk")[:40])

    for original in sample:
        # when the same touchpoints are recorded through the service for a twin customer
        twin = CustomerFactory(created_at=original.created_at, last_activity_at=original.created_at)
        touchpoints = list(Touchpoint.objects.filter(customer=original).order_by("occurred_at", "id"))
        items = [
            TouchpointData(
                customer_id=twin.pk,
                touchpoint_type=types[t.type_id],
                channel=t.channel,
                direction=t.direction,
                occurred_at=t.occurred_at,
                amount=t.amount,
            )
            for t in touchpoints
        ]
        half = len(items) // 2  # in two batches: the second continues the first's journey
        touchpoint_record_batch(items=items[:half], source="import")
        touchpoint_record_batch(items=items[half:], source="import")

        # then the service makes the same transitions and leaves the same journey and last activity
        def steps(customer_id):
            rows = StageTransition.objects.filter(customer_id=customer_id).order_by("at", "id")
            return list(rows.values_list("from_stage", "to_stage", "at", "ended_at", "channel"))

        assert steps(twin.pk) == [(t.from_stage, t.to_stage, t.at, t.ended_at, t.channel) for t in chains[original.pk]]
        mine, theirs = CustomerJourney.objects.get(customer=original), CustomerJourney.objects.get(customer=twin)
        assert (theirs.stage, theirs.stage_since) == (mine.stage, mine.stage_since)
        twin.refresh_from_db()
        assert twin.last_activity_at == original.last_activity_at


@pytest.mark.django_db
def test_seeded_journeys_are_realistic():
    # given a seed of a thousand customers
    seed("--customers=1000", "--seed=42", TODAY)
    customers = Customer.objects.count()
    journeys = dict(CustomerJourney.objects.values("stage").annotate(n=Count("id")).values_list("stage", "n"))

    # then they have about ten touchpoints each, and most stall before decision
    assert 8 <= Touchpoint.objects.count() / customers <= 12
    assert 0.5 < (journeys.get("awareness", 0) + journeys.get("consideration", 0)) / customers <= 0.7
    assert journeys.get("retention", 0) / customers >= 0.15

    # and purchases carry realistic amounts in yen, with a long tail; only purchases and returns carry one
    purchases = Touchpoint.objects.filter(type__kind=TouchpointType.Kind.PURCHASE)
    amounts = sorted(purchases.values_list("amount", flat=True))
    assert purchases.exists() and all(t.slug == "transaction" for t in TouchpointType.objects.filter(kind="purchase"))
    assert amounts[0] >= 1500 and all(a == a.to_integral_value() for a in amounts)
    assert 3000 <= statistics.median(amounts) <= 12000
    assert amounts[-1] > 30000
    assert not Touchpoint.objects.filter(type__kind="interaction", amount__isnull=False).exists()
    assert set(purchases.values_list("currency", flat=True)) == {"JPY"}

    # and some goods come back, each return naming an order of the same customer
    orders = set(purchases.values_list("customer_id", "order_reference"))
    returns = list(Touchpoint.objects.filter(type__slug="return").values_list("customer_id", "order_reference"))
    assert returns and all(r in orders for r in returns)

    # and each type happens on channels that fit it
    channels = defaultdict(set)
    for slug, channel in Touchpoint.objects.values_list("type__slug", "channel").distinct():
        channels[slug].add(channel)
    assert channels["follow-up-email"] == {"email"}
    assert channels["social-engagement"] == {"social"}
    assert channels["transaction"] == {"web", "store"}
    assert "advertising" in channels["brand-exposure"] and "email" not in channels["brand-exposure"]
    assert Touchpoint.objects.filter(source="staff", recorded_by_user__isnull=False).exists()


@pytest.mark.django_db
def test_seed_journeys_are_deterministic_and_the_same_through_bulk_create(monkeypatch):
    # given the journeys COPY writes
    seed("--customers=60", "--seed=3", TODAY)
    copied = journey_snapshot()
    Customer.objects.all().delete()

    # when the same seed runs again, through COPY and then through bulk_create (as on SQLite)
    seed("--customers=60", "--seed=3", TODAY)
    again = journey_snapshot()
    Customer.objects.all().delete()
    init = seed_tables.TableWriter.__init__
    monkeypatch.setattr(seed_tables.TableWriter, "__init__", lambda self, using: init(self, using, copy=False))
    seed("--customers=60", "--seed=3", TODAY)

    # then the touchpoints are the same each time
    assert len(copied) > 300
    assert again == copied
    assert journey_snapshot() == copied


@pytest.mark.django_db
def test_seed_demo_long_history_gives_the_first_customer_that_many_touchpoints():
    # when seeding with a long history
    seed("--customers=30", "--seed=4", "--long-history=2000", TODAY)

    # then the first customer has it, spread over their years with us, in retention
    customer = Customer.objects.order_by("pk").first()
    assert Touchpoint.objects.filter(customer=customer).count() == 2000
    assert CustomerJourney.objects.get(customer=customer).stage == "retention"
    oldest = Touchpoint.objects.filter(customer=customer).order_by("occurred_at").first().occurred_at
    assert oldest == customer.created_at and NOW - customer.last_activity_at < dt.timedelta(days=1)
    assert Touchpoint.objects.exclude(customer=customer).count() < 30 * 20


@pytest.mark.django_db
def test_seed_demo_without_journeys_seeds_customers_only():
    out = seed("--customers=20", "--no-journeys", TODAY)
    assert Customer.objects.count() == 20
    assert not Touchpoint.objects.exists() and not StageTransition.objects.exists()
    assert "0 touchpoints" in out
