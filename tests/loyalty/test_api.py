"""The loyalty API: a customer's memberships and balances; redemptions, idempotent, with the ingest API's keys."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from loyalty import services
from loyalty.models import Redemption
from tests.factories import CustomerFactory, RewardFactory, api_key_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    _key, raw = api_key_create()
    return Client(headers={"Authorization": f"Bearer {raw}"})


def post(client: Client, url: str, payload, **headers):
    return client.post(url, json.dumps(payload), content_type="application/json", headers=headers)


def test_the_api_needs_a_key(member):
    assert Client().get(reverse("loyalty_api:customer_memberships", args=[member.customer_id])).status_code == 401
    assert post(Client(), reverse("loyalty_api:redemptions"), {}).status_code == 401


def test_reading_a_customers_memberships_and_balance(api, member, buy):
    buy(member.customer, "25000")
    response = api.get(reverse("loyalty_api:customer_memberships", args=[member.customer_id]))
    assert response.status_code == 200
    (row,) = response.json()
    assert (row["member_number"], row["balance"], row["tier"], row["programme"]) == (
        member.member_number,
        250,
        "Regular",
        member.programme.name,
    )
    assert api.get(reverse("loyalty_api:customer_memberships", args=[2**62])).status_code == 404


def test_recording_a_redemption_is_idempotent(api, member):
    services.points_adjust(membership=member, points=500, reason="x", key="x")
    reward = RewardFactory(programme=member.programme, points_cost=200)
    url = reverse("loyalty_api:redemptions")
    payload = {"member_number": member.member_number, "reward_id": reward.pk, "idempotency_key": "pos-77"}

    first = post(api, url, payload)
    again = post(api, url, payload)

    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["voucher_code"] == again.json()["voucher_code"]
    assert first.json()["balance"] == 300 and Redemption.objects.count() == 1


def test_the_key_may_come_in_a_header(api, member):
    services.points_adjust(membership=member, points=500, reason="x", key="x")
    reward = RewardFactory(programme=member.programme, points_cost=200)
    payload = {"membership_id": member.pk, "reward_id": reward.pk}
    url = reverse("loyalty_api:redemptions")
    assert post(api, url, payload).status_code == 400  # no key at all
    assert post(api, url, payload, **{"Idempotency-Key": "h-1"}).status_code == 201
    assert post(api, url, payload, **{"Idempotency-Key": "h-1"}).status_code == 200


def test_a_short_balance_or_stock_answers_409_and_bad_input_400(api, member):
    reward = RewardFactory(programme=member.programme, points_cost=200, stock=1)
    url = reverse("loyalty_api:redemptions")
    short = post(api, url, {"membership_id": member.pk, "reward_id": reward.pk, "idempotency_key": "a"})
    assert short.status_code == 409
    assert post(api, url, {"membership_id": member.pk, "reward_id": 10**9, "idempotency_key": "b"}).status_code == 400
    assert post(api, url, {"reward_id": reward.pk, "idempotency_key": "c"}).status_code == 400
    other = RewardFactory()
    assert (
        post(api, url, {"membership_id": member.pk, "reward_id": other.pk, "idempotency_key": "d"}).status_code == 400
    )
    services.points_adjust(membership=member, points=1000, reason="x", key="x")
    assert (
        post(api, url, {"membership_id": member.pk, "reward_id": reward.pk, "idempotency_key": "e"}).status_code == 201
    )
    out = post(api, url, {"membership_id": member.pk, "reward_id": reward.pk, "idempotency_key": "f"})
    assert out.status_code == 409


def test_a_customer_with_no_membership_has_an_empty_list(api):
    customer = CustomerFactory()
    assert api.get(reverse("loyalty_api:customer_memberships", args=[customer.pk])).json() == []


def test_the_schema_documents_the_loyalty_endpoints(manager_client):
    schema = manager_client.get(reverse("api_schema"), headers={"Accept": "application/json"}).content.decode()
    assert "/api/v1/loyalty/redemptions/" in schema and "/api/v1/customers/{id}/memberships/" in schema
