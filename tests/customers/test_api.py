"""The customers API: POST /api/v1/customers/ creates or updates a customer, found by external ID or email."""

from __future__ import annotations

import pytest
from django.test import Client

from customers.models import Customer
from tests.factories import CustomerFactory, api_key_create

pytestmark = pytest.mark.django_db

CUSTOMERS = "/api/v1/customers/"


@pytest.fixture
def api():
    _key, raw = api_key_create()
    return Client(headers={"Authorization": f"Bearer {raw}"})


def post(client: Client, url: str, payload):
    return client.post(url, payload, content_type="application/json")


def test_customer_upsert_creates_then_updates_by_external_id(api):
    response = post(api, CUSTOMERS, {"external_id": "POS-9", "family_name": "山田", "email": "Taro@Example.jp"})
    assert response.status_code == 201, response.json()
    customer = Customer.objects.get()
    assert (customer.email, customer.source) == ("taro@example.jp", "api")
    response = post(api, CUSTOMERS, {"external_id": "POS-9", "given_name": "太郎"})
    assert response.status_code == 200
    customer.refresh_from_db()
    assert (customer.family_name, customer.given_name, customer.source) == ("山田", "太郎", "api")


def test_customer_upsert_finds_by_email_and_records_api_consent(api):
    existing = CustomerFactory(email="hana@example.jp", source="store")
    response = post(api, CUSTOMERS, {"email": "HANA@example.jp", "external_id": "X-1", "marketing_consent": True})
    assert response.status_code == 200
    existing.refresh_from_db()
    assert (existing.external_id, existing.source, existing.consent_source) == ("X-1", "store", "api")


def test_customer_upsert_validation(api):
    assert set(post(api, CUSTOMERS, {"family_name": "No key"}).json()) == {"external_id"}
    assert post(api, CUSTOMERS, {"external_id": "E-1"}).json() == {
        "family_name": ["No customer matches: send family_name to create one."]
    }
    response = post(api, CUSTOMERS, {"external_id": "E-2", "family_name": "X", "phone": "12", "email": "bad"})
    assert response.status_code == 400
    assert set(response.json()) == {"email", "phone"}
    response = post(api, CUSTOMERS, {"external_id": "E-2", "family_name": "X", "phone": "12"})
    assert set(response.json()) == {"phone"}
    CustomerFactory(email="taken@example.jp", external_id="OTHER")
    response = post(api, CUSTOMERS, {"external_id": "E-3", "family_name": "X", "email": "taken@example.jp"})
    assert response.status_code == 400
    assert set(response.json()) == {"email"}
