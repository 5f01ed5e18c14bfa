"""``manage.py seed_loyalty`` on a small demo database: the history goes through the same rules as real use."""

from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from customers.models import CustomerActivity
from loyalty import services
from loyalty.models import (
    Greeting,
    LedgerEntry,
    LoyaltyAccount,
    Membership,
    Programme,
    Redemption,
    Reward,
    Tier,
    TierChange,
)
from touchpoints.models import CustomerJourney, StageTransition, Touchpoint

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    call_command("seed_demo", customers=60, seed=42, demo_logins=True, stdout=io.StringIO())


def seed(**options) -> str:
    out = io.StringIO()
    call_command("seed_loyalty", stdout=out, stderr=out, **options)
    return out.getvalue()


def rows(queryset) -> list[str]:
    """Sorted, None included (rows compared as text)."""
    return sorted(map(repr, queryset))


def fingerprint() -> dict:
    """The history by customer (ids of loyalty rows and the codes drawn from ``secrets`` left out)."""
    return {
        "members": rows(
            Membership.objects.values_list(
                "customer_id", "joined_at", "tier__name", "balance", "lifetime_points", "purchase_count",
                "referred_by__customer_id",
            )
        ),
        "ledger": rows(
            LedgerEntry.objects.values_list("membership__customer_id", "kind", "points", "remaining", "created_at")
        ),
        "redemptions": rows(
            Redemption.objects.values_list("membership__customer_id", "reward__name", "points", "status", "created_at")
        ),
        "tiers": rows(TierChange.objects.values_list("membership__customer_id", "reason", "to_tier__name", "at")),
    }  # fmt: skip


def full_fingerprint() -> dict:
    """Everything the pages read of the history, ids and ``secrets`` draws left out (the bulk path is held to it)."""
    programme_id = re.compile(r"demo:p\d+:")  # the redemptions' keys name the programme
    member_number = re.compile(r"\b\d{10}\b")  # a referrer's bonus names the referee's number
    return {
        name: sorted(member_number.sub("N", programme_id.sub("demo:p:", row)) for row in values)
        for name, values in _full_fingerprint().items()
    }


def _full_fingerprint() -> dict:
    return {
        **fingerprint(),
        "member_state": rows(
            Membership.objects.values_list(
                "customer_id", "tier_since", "tier_review_on", "tier_grace_until", "referral_rewarded_at", "joined_on",
                "status",
            )
        ),
        "ledger_detail": rows(
            LedgerEntry.objects.values_list(
                "membership__customer_id", "created_at", "kind", "reason", "reason_key", "reason_params", "source",
                "touchpoint_id", "order_reference", "amount", "redemption__idempotency_key", "by__username",
                "expires_on", "remaining",
            )
        ),
        "allocations": rows(
            (e.membership.customer_id, e.kind, e.created_at, sorted(e.allocations.values()))
            for e in LedgerEntry.objects.select_related("membership")
        ),
        "redemption_detail": rows(
            Redemption.objects.values_list(
                "idempotency_key", "source", "by__username", "cancelled_at", "cancel_reason", "status"
            )
        ),
        "tier_detail": rows(
            TierChange.objects.values_list("membership__customer_id", "at", "from_tier__name", "qualifying")
        ),
        "greetings": rows(
            Greeting.objects.values_list(
                "customer_id", "kind", "due_on", "status", "detail", "bonus_points", "error", "processed_at"
            )
        ),
        "accounts": rows(LoyaltyAccount.objects.values_list("customer_id", "memberships", "created_at")),
        "stock": rows(Reward.objects.values_list("name", "stock")),
        "touchpoints": rows(
            Touchpoint.objects.filter(idempotency_key__startswith="loyalty:redemption:").values_list(
                "customer_id", "type__slug", "stage", "channel", "direction", "occurred_at", "summary", "source",
                "recorded_by_user__username", "metadata__points",
            )
        ),
        "journeys": rows(CustomerJourney.objects.values_list("customer_id", "stage", "stage_since")),
        "transitions": rows(
            StageTransition.objects.values_list("customer_id", "from_stage", "to_stage", "at", "ended_at")
        ),
    }  # fmt: skip


def test_the_history_keeps_every_rule_of_real_use(demo):
    started = timezone.now()
    output = seed(seed=7)

    assert "members" in output and "do not match" not in output
    programme = Programme.objects.get()
    assert list(programme.tiers.values_list("position", flat=True)) == [1, 2, 3]
    assert programme.rewards.count() >= 3
    # About 60% of the customers who bought something are members.
    buyers = Touchpoint.objects.filter(type__kind="purchase").values("customer").distinct().count()
    members = Membership.objects.count()
    assert 0.35 * buyers <= members <= 0.85 * buyers
    # Balance = the ledger's sum, lifetime points and lots agree (the audit), for every member.
    assert services.ledger_audit() == []
    for membership in Membership.objects.annotate(total=Sum("entries__points")):
        assert membership.balance == (membership.total or 0) >= 0
    # Tiers: never below what the last 12 months reach (upgrades are immediate); above it only while a yearly
    # review is pending; the first tier has nothing to review.
    tiers = list(Tier.objects.filter(programme=programme).order_by("position"))
    for membership in Membership.objects.select_related("tier", "programme"):
        value = services.qualifying_value(membership)
        reached = max((t.position for t in tiers if t.threshold <= value), default=1)
        assert membership.tier.position >= reached
        if membership.tier.position > reached:
            assert membership.tier_review_on is not None
        if membership.tier.position == 1:
            assert membership.tier_review_on is None
    for change in TierChange.objects.filter(reason="upgrade").select_related("to_tier"):
        assert change.qualifying >= change.to_tier.threshold
    # What real use brings: earning, redeeming, expiry, upgrades.
    kinds = set(LedgerEntry.objects.values_list("kind", flat=True))
    assert {"earn", "redeem", "expire"} <= kinds
    assert TierChange.objects.filter(reason="upgrade").exists()
    assert Redemption.objects.exists()
    # Each redemption is one "loyalty programme activity" touchpoint at its time.
    for redemption in Redemption.objects.select_related("membership"):
        touchpoint = Touchpoint.objects.get(idempotency_key=f"loyalty:redemption:{redemption.pk}")
        assert touchpoint.customer_id == redemption.membership.customer_id
        assert touchpoint.occurred_at == redemption.created_at
    # The whole history is in the past; no stale greeting is left for the dispatcher to mail at start.
    assert not LedgerEntry.objects.filter(created_at__gte=started).exists()
    assert not Redemption.objects.filter(created_at__gte=started).exists()
    assert not TierChange.objects.filter(at__gte=started).exists()
    assert not Greeting.objects.filter(status="scheduled", due_on__lt=timezone.localdate()).exists()
    # Earned points come from the purchases already there: one entry per purchase made while a member.
    for entry in LedgerEntry.objects.filter(kind="earn").select_related("touchpoint", "membership"):
        assert entry.touchpoint.customer_id == entry.membership.customer_id
        assert entry.touchpoint.occurred_at >= entry.membership.joined_at
        assert entry.amount == entry.touchpoint.amount and entry.amount > Decimal(0)


def test_running_twice_adds_nothing(demo):
    seed(seed=7)
    before = fingerprint()

    output = seed(seed=7)

    assert "exists already" in output
    assert fingerprint() == before and Programme.objects.count() == 1


def test_the_same_seed_gives_the_same_history(demo):
    savepoint = transaction.savepoint()
    seed(seed=7)
    first = fingerprint()
    transaction.savepoint_rollback(savepoint)
    assert not Membership.objects.exists()

    seed(seed=7)

    assert fingerprint() == first
    assert first["members"] and first["ledger"]


def test_the_history_shows_its_progress_a_tenth_at_a_time(demo):
    # when
    output = seed(seed=7)

    # then: a line per tenth of the replayed events, ending at 100%, before the summary
    lines = [line for line in output.splitlines() if line.strip().startswith("Loyalty history:")]
    assert [line.split(":")[1].split("%")[0].strip() for line in lines][-1] == "100"
    assert 1 <= len(lines) <= 10
    assert "ledger entries" in output.splitlines()[-1]


def test_the_bulk_history_is_the_service_replay_row_for_row(demo):
    # given: the history replayed through the services, one call per event (the reference)
    savepoint = transaction.savepoint()
    seed(seed=7, through_services=True)
    reference = full_fingerprint()
    activity = rows(CustomerActivity.objects.values_list("customer_id", "last_activity_at"))
    transaction.savepoint_rollback(savepoint)
    assert not Membership.objects.exists()

    # when: the same history in memory, written in bulk
    output = seed(seed=7)

    # then: the same rows, a clean audit, the same last activity
    assert full_fingerprint() == reference
    assert rows(CustomerActivity.objects.values_list("customer_id", "last_activity_at")) == activity
    assert services.ledger_audit() == []
    assert reference["ledger"] and reference["redemptions"] and reference["greetings"]
    assert {"earn", "redeem", "expire", "reverse", "referral"} <= {
        row.split(",")[1].strip(" '") for row in reference["ledger"]
    }
    assert "ledger entries" in output.splitlines()[-1]
