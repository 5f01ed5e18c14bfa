"""A redeemed reward is a touchpoint: "Loyalty programme activity" (retention) on the customer's timeline and
journey, recorded once per redemption in the redemption's own transaction. Cancelling leaves it (the ledger's
reversal entry shows the cancellation on the same timeline); earning points on a purchase records none."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from loyalty import services
from loyalty.models import Redemption
from tests.factories import RewardFactory, touchpoint_create
from tests.loyalty.conftest import refreshed
from touchpoints.models import StageTransition, Touchpoint, TouchpointType

pytestmark = pytest.mark.django_db

KEY = re.compile(r'name="idempotency_key" value="([0-9a-f]+)"')


def activity(customer):
    return Touchpoint.objects.filter(customer=customer, type__slug="loyalty-activity")


@pytest.fixture
def coffee(member):
    services.points_adjust(membership=member, points=500, reason="Welcome", key="welcome")
    return RewardFactory(programme=member.programme, name="Free coffee", points_cost=200)


def test_redeeming_from_the_page_records_one_touchpoint_on_the_timeline(manager_client, manager, member, coffee):
    url = reverse("loyalty:redeem", args=[member.pk])
    key = KEY.search(manager_client.get(url).content.decode()).group(1)

    manager_client.post(url, {"reward": coffee.pk, "idempotency_key": key})

    redemption = Redemption.objects.get()
    touchpoint = activity(member.customer).get()
    assert touchpoint.summary == "Redeemed Free coffee (200 points)"
    assert (touchpoint.direction, touchpoint.channel, touchpoint.source) == ("inbound", "store", "staff")
    assert touchpoint.recorded_by_user == manager
    assert touchpoint.idempotency_key == f"loyalty:redemption:{redemption.pk}"
    assert touchpoint.occurred_at == redemption.created_at
    assert touchpoint.metadata == {"redemption": redemption.pk, "reward": coffee.pk, "points": 200}
    timeline = manager_client.get(reverse("customers:timeline", args=[member.customer.pk])).content.decode()
    assert "Redeemed Free coffee (200 points)" in timeline


def test_a_double_post_records_one_redemption_and_one_touchpoint(manager_client, member, coffee):
    url = reverse("loyalty:redeem", args=[member.pk])
    key = KEY.search(manager_client.get(url).content.decode()).group(1)

    manager_client.post(url, {"reward": coffee.pk, "idempotency_key": key})
    manager_client.post(url, {"reward": coffee.pk, "idempotency_key": key})

    assert Redemption.objects.count() == 1 and refreshed(member).balance == 300
    assert activity(member.customer).count() == 1


def test_a_replayed_key_through_the_service_records_nothing_more(member, coffee):
    first = services.points_redeem(membership=member, reward=coffee, key="k1")
    again = services.points_redeem(membership=member, reward=coffee, key="k1")

    assert again.replayed and again.pk == first.pk
    assert activity(member.customer).count() == 1


def test_an_api_redemption_is_a_web_touchpoint_from_the_api(member, coffee):
    services.points_redeem(membership=member, reward=coffee, key="api-1", source=Redemption.Source.API)

    touchpoint = activity(member.customer).get()
    assert (touchpoint.channel, touchpoint.source, touchpoint.recorded_by_user) == ("web", "api", None)


def test_a_redemption_at_a_past_time_is_dated_then(member, coffee):
    at = timezone.now() - dt.timedelta(days=3)
    redemption = services.points_redeem(membership=member, reward=coffee, key="past", at=at)

    assert activity(member.customer).get().occurred_at == at
    assert redemption.entries.get().created_at == at


def test_cancelling_keeps_the_touchpoint_and_shows_the_reversal_on_the_timeline(manager_client, member, coffee):
    redemption = services.points_redeem(membership=member, reward=coffee, key="k")

    response = manager_client.post(reverse("loyalty:redemption_cancel", args=[redemption.pk]), {"reason": "oops"})

    assert response.status_code == 302 and refreshed(member).balance == 500
    assert activity(member.customer).count() == 1
    timeline = manager_client.get(reverse("customers:timeline", args=[member.customer.pk])).content.decode()
    assert "Redeemed Free coffee (200 points)" in timeline and "Cancelled: Free coffee" in timeline


def test_a_refused_redemption_records_no_touchpoint(member):
    dear = RewardFactory(programme=member.programme, name="Dinner for two", points_cost=10_000)

    with pytest.raises(ValidationError):
        services.points_redeem(membership=member, reward=dear, key="k")

    assert not activity(member.customer).exists() and not Redemption.objects.exists()


def test_earning_points_on_a_purchase_records_no_loyalty_touchpoint(member, buy):
    buy(member.customer, 5_000, "A-1")

    assert refreshed(member).balance == 50
    assert not activity(member.customer).exists()


def test_a_customer_in_retention_stays_there(member, coffee):
    touchpoint_create(member.customer, "transaction", amount=1000)
    touchpoint_create(member.customer, "social-engagement")
    assert member.customer.journey.stage == "retention"
    transitions = StageTransition.objects.filter(customer=member.customer).count()

    services.points_redeem(membership=member, reward=coffee, key="k")

    member.customer.journey.refresh_from_db()
    assert member.customer.journey.stage == "retention"
    assert StageTransition.objects.filter(customer=member.customer).count() == transitions


def test_a_customer_at_decision_moves_on_to_retention_never_back(member, coffee):
    touchpoint_create(member.customer, "transaction", amount=1000)
    assert member.customer.journey.stage == "decision"

    services.points_redeem(membership=member, reward=coffee, key="k")

    member.customer.journey.refresh_from_db()
    assert member.customer.journey.stage == "retention"


def test_a_retired_catalogue_type_does_not_stop_a_redemption(member, coffee):
    TouchpointType.objects.filter(slug="loyalty-activity").update(is_active=False)

    redemption = services.points_redeem(membership=member, reward=coffee, key="k")

    assert redemption.status == Redemption.Status.ISSUED and refreshed(member).balance == 300
    assert not activity(member.customer).exists()
