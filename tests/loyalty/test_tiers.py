"""Tiers: up as soon as the threshold is crossed, down only at the yearly review after a grace period."""

from __future__ import annotations

import datetime as dt

import pytest

from loyalty import services
from loyalty.models import Greeting, Membership, Programme, TierChange
from loyalty.querysets import twelve_months_before
from tests.loyalty.conftest import refreshed

pytestmark = pytest.mark.django_db


def put_in_tier(member: Membership, name: str, *, review_on: dt.date) -> Membership:
    member.tier = member.programme.tiers.get(name=name)
    member.tier_review_on = review_on
    member.save(update_fields=["tier", "tier_review_on"])
    return member


def test_a_new_member_starts_in_the_first_tier_with_no_review(member):
    assert member.tier.name == "Regular" and member.tier_review_on is None
    assert TierChange.objects.get(membership=member).reason == "join"


def test_crossing_the_threshold_upgrades_at_once_and_is_a_milestone(member, buy):
    # when: purchases bring 1,000 points in the last 12 months
    buy(member.customer, "60000")
    assert refreshed(member).tier.name == "Regular"
    buy(member.customer, "40000")

    # then: Silver now, reviewed in a year, with its history and a greeting scheduled
    member = refreshed(member)
    today = services.local_today()
    assert member.tier.name == "Silver"
    assert member.tier_review_on == services.add_months(today, 12)
    change = TierChange.objects.filter(membership=member).first()
    assert (change.reason, change.from_tier.name, change.to_tier.name) == ("upgrade", "Regular", "Silver")
    greeting = Greeting.objects.get(customer=member.customer, kind="tier_upgrade")
    assert (greeting.occasion, greeting.detail, greeting.due_on) == (f"tier:{change.pk}", "Silver", today)


def test_a_big_purchase_goes_straight_to_the_highest_tier_reached(member, buy):
    buy(member.customer, "600000")
    assert refreshed(member).tier.name == "Gold"


def test_returns_do_not_downgrade_before_the_review(member, buy, give_back):
    buy(member.customer, "100000", "O-1")
    give_back(member.customer, "O-1")
    assert refreshed(member).tier.name == "Silver"


def test_the_review_keeps_a_tier_that_still_qualifies_for_another_year(member, buy):
    buy(member.customer, "100000")
    today = services.local_today()
    Membership.objects.filter(pk=member.pk).update(tier_review_on=today)
    stats = services.tiers_review(today=today)
    member = refreshed(member)
    assert stats == {"kept": 1}
    assert member.tier.name == "Silver" and member.tier_review_on == services.add_months(today, 12)


def test_the_review_downgrades_only_after_the_grace_period(member, buy):
    # given: a Silver member whose review is due today and who bought nothing in 12 months
    today = dt.date(2030, 5, 10)
    put_in_tier(member, "Silver", review_on=today)

    # when: the review runs, twice: a grace period starts and the tier is kept
    assert services.tiers_review(today=today) == {"grace_started": 1}
    assert services.tiers_review(today=today) == {"in_grace": 1}
    member = refreshed(member)
    assert member.tier.name == "Silver" and member.tier_grace_until == today + dt.timedelta(days=30)

    # then: still Silver the day before the grace ends; down to Regular when it has ended, once
    assert services.tiers_review(today=today + dt.timedelta(days=29)) == {"in_grace": 1}
    assert services.tiers_review(today=today + dt.timedelta(days=30)) == {"downgraded": 1}
    assert services.tiers_review(today=today + dt.timedelta(days=30)) == {}
    member = refreshed(member)
    assert member.tier.name == "Regular" and member.tier_review_on is None and member.tier_grace_until is None
    change = TierChange.objects.filter(membership=member).first()
    assert (change.reason, change.from_tier.name, change.to_tier.name) == ("downgrade", "Silver", "Regular")


def test_qualifying_again_during_the_grace_period_keeps_the_tier(member, buy):
    today = services.local_today()
    put_in_tier(member, "Silver", review_on=today)
    services.tiers_review(today=today)
    assert refreshed(member).tier_grace_until is not None

    buy(member.customer, "100000")  # 1,000 points: Silver's threshold again

    assert refreshed(member).tier_grace_until is None
    assert services.tiers_review(today=today) == {"kept": 1}
    assert refreshed(member).tier.name == "Silver"


def test_a_gold_member_who_dropped_to_silver_levels_goes_to_silver(member, buy):
    today = services.local_today()
    put_in_tier(member, "Gold", review_on=today)
    member.programme.tier_grace_days = 0
    member.programme.save()
    buy(member.customer, "150000")  # 1,500 points: Silver

    assert services.tiers_review(today=today) == {"downgraded": 1}
    member = refreshed(member)
    assert member.tier.name == "Silver" and member.tier_review_on == services.add_months(today, 12)


def test_tiers_may_qualify_on_the_amount_spent(club, buy):
    from tests.factories import CustomerFactory, member_join

    Programme.objects.filter(pk=club.pk).update(tier_basis="amount")
    club.tiers.filter(name="Silver").update(threshold=50000)
    club.tiers.filter(name="Gold").update(threshold=500000)
    member = member_join(CustomerFactory(), Programme.objects.get(pk=club.pk))
    buy(member.customer, "50000")
    assert refreshed(member).tier.name == "Silver"


def test_the_qualification_window_is_the_last_twelve_months():
    assert twelve_months_before(dt.date(2030, 5, 10)).date() == dt.date(2029, 5, 11)
    assert twelve_months_before(dt.date(2028, 2, 29)).date() == dt.date(2027, 3, 1)
