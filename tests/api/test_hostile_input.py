"""Input from outside never answers 500: every malformed request to the API gets a 400 (or 413) in JSON.

Each case was found by a hostile test of the API; each answered 500 (or HTML) before its fix.
"""

from __future__ import annotations

import base64
import json

import pytest
from django.test import Client

from tests.factories import CustomerFactory, api_key_create, member_join, touchpoint_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    _, raw = api_key_create()
    return Client(headers={"Authorization": f"Bearer {raw}"})


def assert_json_error(response, status: int = 400) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert body.get("detail") or body.get("errors") or body, body
    return body


def test_json_nested_a_thousand_deep_is_a_400(api):
    body = "[" * 1000 + "]" * 1000
    response = api.post("/api/v1/touchpoints/", body, content_type="application/json")
    assert_json_error(response)


def test_json_nested_far_deeper_than_python_s_recursion_limit_is_a_400(api):
    body = '{"a":' * 100_000 + "1" + "}" * 100_000
    response = api.post("/api/v1/touchpoints/", body, content_type="application/json")
    assert_json_error(response)


def test_metadata_nested_four_hundred_deep_is_refused_by_name(api):
    metadata: dict = {}
    inner = metadata
    for _ in range(400):
        inner["x"] = {}
        inner = inner["x"]
    customer = CustomerFactory()
    response = api.post(
        "/api/v1/touchpoints/",
        json.dumps({"customer_id": customer.pk, "type": "research", "metadata": metadata}),
        content_type="application/json",
    )
    body = assert_json_error(response)
    assert "metadata" in json.dumps(body)


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        base64.b64encode(b"p=not-a-date&r=0").decode(),
        base64.b64encode(b"p=2026-13-45T99:99:99&o=5").decode(),
        base64.b64encode(b"r=yes&p=2026-01-01T00:00:00%2B00:00").decode(),
        base64.b64encode(b"p=\x00").decode(),
    ],
)
def test_a_forged_cursor_is_a_400(api, cursor):
    customer = CustomerFactory()
    touchpoint_create(customer, "research")
    for url in (f"/api/v1/customers/{customer.pk}/touchpoints/", f"/api/v1/customers/{customer.pk}/tickets/"):
        response = api.get(url, {"cursor": cursor})
        assert response.status_code == 400, (url, response.status_code)
        assert response["Content-Type"].startswith("application/json")


def test_an_idempotency_key_with_a_nul_is_a_400(api):
    from tests.factories import RewardFactory

    membership = member_join(CustomerFactory())
    reward = RewardFactory(programme=membership.programme)
    response = api.post(
        "/api/v1/loyalty/redemptions/",
        json.dumps({"membership_id": membership.pk, "reward_id": reward.pk}),
        content_type="application/json",
        headers={"Idempotency-Key": "abc\x00def"},
    )
    assert_json_error(response)


def test_a_body_over_the_limit_is_a_json_413(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    body = json.dumps([{"customer_id": 1, "type": "research", "metadata": {"pad": "x" * 4096}}])
    response = api.post("/api/v1/touchpoints/", body, content_type="application/json")
    assert_json_error(response, 413)
