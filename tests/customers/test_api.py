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


def test_customer_upsert_finds_by_email(api):
    existing = CustomerFactory(email="hana@example.jp", source="store")
    response = post(api, CUSTOMERS, {"email": "HANA@example.jp", "external_id": "X-1"})
    assert response.status_code == 200
    existing.refresh_from_db()
    assert (existing.external_id, existing.source) == ("X-1", "store")


# --- consent: never set or withdrawn by a key on an existing customer (issue 16) -------------------------


def test_a_key_cannot_overwrite_a_withdrawal_of_consent(api):
    """The attack from the hostile test: ``marketing_consent: true`` on a customer who unsubscribed."""
    hana = CustomerFactory(
        email="hana@example.jp", marketing_consent=False, consent_source=Customer.ConsentSource.UNSUBSCRIBE
    )
    for payload in (
        {"email": "hana@example.jp", "marketing_consent": True},
        {"email": "hana@example.jp", "marketing_consent": True, "consent_source": "api"},
        {
            "email": "hana@example.jp",
            "marketing_consent": True,
            "consent_source": "web_form",
            "consent_at": "2026-01-01T00:00:00Z",
        },
    ):
        response = post(api, CUSTOMERS, payload)
        assert response.status_code == 400, response.content
    assert "marketing_consent" in response.json()  # the last one, with its proof: refused all the same
    hana.refresh_from_db()
    assert (hana.marketing_consent, hana.consent_source) == (False, "unsubscribe")


def test_a_key_changes_no_consent_of_an_existing_customer_either_way(api):
    kenji = CustomerFactory(email="kenji@example.jp", marketing_consent=True, consent_source="in_store")
    for payload in (
        {"email": "kenji@example.jp", "marketing_consent": False},
        {"email": "kenji@example.jp", "do_not_contact": True},
        {"email": "kenji@example.jp", "consent_evidence": "rewritten"},
    ):
        response = post(api, CUSTOMERS, payload)
        assert response.status_code == 400, payload
    kenji.refresh_from_db()
    assert (kenji.marketing_consent, kenji.do_not_contact, kenji.consent_source) == (True, False, "in_store")
    # Sending what is already recorded changes nothing, so it is accepted (integrations re-send whole records).
    response = post(api, CUSTOMERS, {"email": "kenji@example.jp", "do_not_contact": False, "given_name": "健二"})
    assert response.status_code == 200, response.content


def test_a_new_customer_s_consent_needs_its_proof(api):
    response = post(api, CUSTOMERS, {"external_id": "N-1", "family_name": "新", "marketing_consent": True})
    assert response.status_code == 400
    assert {"consent_source", "consent_at"} <= set(response.json())
    assert not Customer.objects.exists()
    response = post(
        api,
        CUSTOMERS,
        {
            "external_id": "N-1",
            "family_name": "新",
            "marketing_consent": True,
            "consent_source": "web_form",
            "consent_at": "2026-03-01T09:00:00+09:00",
            "consent_evidence": "newsletter box, shop sign-up v2",
        },
    )
    assert response.status_code == 201, response.content
    customer = Customer.objects.get()
    assert (customer.marketing_consent, customer.consent_source) == (True, "web_form")
    assert customer.consent_at.isoformat() == "2026-03-01T00:00:00+00:00"  # when the customer agreed, not now


def test_unsubscribe_is_not_a_source_a_key_may_claim(api):
    response = post(api, CUSTOMERS, {"external_id": "N-2", "family_name": "X", "consent_source": "unsubscribe"})
    assert response.status_code == 400


# --- the answer tells the caller nothing it did not send ------------------------------------------


def test_a_post_naming_a_customer_by_email_does_not_return_their_profile(api):
    CustomerFactory(email="hana@example.jp", phone="+81312345678", birth_date="1990-04-01", address_line1="1-2-3 Ginza")
    response = post(api, CUSTOMERS, {"email": "hana@example.jp"})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"id", "email"}
    response = post(api, CUSTOMERS, {"email": "hana@example.jp", "phone": "03-1234-5678"})
    assert set(response.json()) == {"id", "email", "phone"}
    assert response.json()["phone"] == "+81312345678"  # what was sent, as stored


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
