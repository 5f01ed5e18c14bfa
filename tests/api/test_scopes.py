"""API key scopes: each endpoint answers a key only when it holds the endpoint's scope, else a JSON 403 naming it.

Before scopes, any key could do everything: a key made for a till recording purchases could rewrite customers."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import CustomerFactory, api_key_create
from touchpoints.models import ApiKey, ApiScope

pytestmark = pytest.mark.django_db

# method, path (``{pk}``: a customer's id), the scope it needs
ENDPOINTS = [
    ("post", "/api/v1/customers/", ApiScope.CUSTOMERS_WRITE),
    ("post", "/api/v1/touchpoints/", ApiScope.INGEST),
    ("get", "/api/v1/customers/{pk}/touchpoints/", ApiScope.READ),
    ("post", "/api/v1/tickets/", ApiScope.INGEST),
    ("get", "/api/v1/customers/{pk}/tickets/", ApiScope.READ),
    ("get", "/api/v1/customers/{pk}/memberships/", ApiScope.LOYALTY),
    ("post", "/api/v1/loyalty/redemptions/", ApiScope.LOYALTY),
]


def call(raw: str, method: str, path: str):
    client = Client(headers={"Authorization": f"Bearer {raw}"})
    url = path.format(pk=CustomerFactory().pk)
    if method == "get":
        return client.get(url)
    return client.post(url, "{}", content_type="application/json")


@pytest.mark.parametrize("scope", ApiScope.values)
@pytest.mark.parametrize("method,path,needed", ENDPOINTS, ids=[f"{m} {p}" for m, p, _n in ENDPOINTS])
def test_each_endpoint_answers_only_a_key_with_its_scope(scope, method, path, needed):
    _key, raw = api_key_create(scopes=[scope])
    response = call(raw, method, path)
    if scope == needed:
        assert response.status_code in (200, 201, 400), response.content[:300]  # past the permission: {} is invalid
    else:
        assert response.status_code == 403, response.content[:300]
        assert response["Content-Type"].startswith("application/json")
        body = response.json()
        assert body["missing_scopes"] == [needed]
        assert needed in body["detail"]


def test_every_api_route_names_its_scopes():
    """A new endpoint must say what it needs (the permission refuses a view naming none); this lists them all."""
    from django.urls import get_resolver

    def walk(patterns, prefix=""):
        for p in patterns:
            if hasattr(p, "url_patterns"):
                yield from walk(p.url_patterns, prefix + str(p.pattern))
            else:
                yield prefix + str(p.pattern), p.callback

    api_views = [(route, cb) for route, cb in walk(get_resolver().url_patterns) if route.startswith("api/v1/")]
    assert len(api_views) == len(ENDPOINTS)
    for route, callback in api_views:
        assert set(callback.cls.required_scopes) <= set(ApiScope.values), route


def test_a_key_with_every_scope_reaches_everything():
    _key, raw = api_key_create()
    for method, path, _needed in ENDPOINTS:
        assert call(raw, method, path).status_code != 403, path


def test_keys_made_before_scopes_hold_every_scope():
    """The migration's default: existing integrations keep working (a manager narrows them by replacing the key)."""
    key = ApiKey.objects.create(name="Old", prefix="tsu_old", key_hash="0" * 64)
    key.refresh_from_db()
    assert key.scopes == [
        s for s in ApiScope.values if s != ApiScope.TICKETS_VERIFIED
    ]  # vouching is granted on purpose


def test_without_a_key_it_is_still_a_401():
    response = Client().post("/api/v1/customers/", "{}", content_type="application/json")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
