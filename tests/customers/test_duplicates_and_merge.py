"""Issue 20, point 8: a phone or email already on file warns on saving (with a link, "save anyway" explicit); the
merge chooses each differing field, keeps the other email/phone as a secondary contact, and a merged-away record's
URLs lead to the kept one (pages redirect, the API answers a pointer)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from customers import services
from customers.models import Customer, CustomerMerge
from tests.factories import CustomerFactory, api_key_create

pytestmark = pytest.mark.django_db


def form_data(**overrides) -> dict:
    data = {
        "family_name": "Sato",
        "given_name": "Hanako",
        "email": "",
        "phone": "",
        "country": "JP",
        "preferred_channel": "email",
        "preferred_language": "ja",
        "source": "other",
    }
    data.update(overrides)
    return data


# --- the warning on saving -------------------------------------------------------------------------


def test_creating_a_customer_with_a_phone_on_file_typed_full_width_warns_and_saves_nothing(manager_client):
    # given: a customer with this number
    existing = CustomerFactory(family_name="Kato", phone="+819012345678")

    # when: the same number is typed full width with long-vowel dashes
    response = manager_client.post(reverse("customers:create"), form_data(phone="０９０ー１２３４ー５６７８"))

    # then: the form is shown again with a warning that links to the record on file; nothing is saved
    assert response.status_code == 200
    body = response.content.decode()
    assert "This email or phone number is already on file" in body
    assert f'href="{existing.get_absolute_url()}"' in body
    assert "same phone" in body
    assert Customer.objects.count() == 1


def test_save_anyway_creates_the_second_customer(manager_client):
    CustomerFactory(family_name="Kato", phone="+819012345678")

    response = manager_client.post(reverse("customers:create"), form_data(phone="+81 90 1234 5678", save_anyway="on"))

    assert response.status_code == 302
    assert Customer.objects.filter(phone="+819012345678").count() == 2


def test_an_email_on_file_as_someones_other_email_warns_too(manager_client):
    existing = CustomerFactory(family_name="Kato", email="kato@example.com", secondary_email="hana@example.jp")

    response = manager_client.post(reverse("customers:create"), form_data(email="ｈａｎａ＠ｅｘａｍｐｌｅ．ｊｐ"))

    assert response.status_code == 200
    body = response.content.decode()
    assert f'href="{existing.get_absolute_url()}"' in body
    assert "same email" in body
    assert Customer.objects.count() == 1


def test_a_main_email_on_file_still_cannot_be_saved_twice_even_with_save_anyway(manager_client):
    existing = CustomerFactory(family_name="Kato", email="kato@example.com")

    response = manager_client.post(reverse("customers:create"), form_data(email="KATO@example.com", save_anyway="on"))

    assert response.status_code == 200
    body = response.content.decode()
    assert "Another customer already has this email address." in body
    assert f'href="{existing.get_absolute_url()}"' in body
    assert Customer.objects.count() == 1


def test_editing_a_customer_without_changing_the_known_shared_phone_does_not_warn(manager_client):
    # given: two people on file sharing a landline
    CustomerFactory(family_name="Kato", phone="+81312345678")
    other = CustomerFactory(family_name="Kato", given_name="Jiro", phone="+81312345678")

    # when: the other's company is edited
    response = manager_client.post(
        reverse("customers:update", args=[other.pk]),
        form_data(family_name="Kato", given_name="Jiro", phone="03-1234-5678", company="Kato Ltd"),
    )

    # then: saved, no warning
    assert response.status_code == 302
    other.refresh_from_db()
    assert other.company == "Kato Ltd"


# --- the merge, field by field ---------------------------------------------------------------------


@pytest.fixture
def pair():
    older = CustomerFactory(
        family_name="山田",
        given_name="花子",
        email="hanako@example.com",
        phone="+819011112222",
        company="",
        city="渋谷区",
        created_at=timezone.now() - dt.timedelta(days=30),
    )
    newer = CustomerFactory(
        family_name="山田",
        given_name="はなこ",
        email="hana.yamada@example.jp",
        phone="+819033334444",
        company="山田商店",
        city="新宿区",
        created_at=timezone.now() - dt.timedelta(days=1),
    )
    return older, newer


def test_merge_page_highlights_the_differing_fields_with_a_choice_each(manager_client, pair):
    older, newer = pair

    response = manager_client.get(reverse("customers:merge"), {"ids": [older.pk, newer.pk]})

    body = response.content.decode()
    assert response.status_code == 200
    for field in ("given_name", "email", "phone", "city"):
        assert f'data-field="{field}"' in body
        assert f'name="field_{field}" id="field-{field}-{older.pk}" value="{older.pk}" checked' in body
        assert f'name="field_{field}" id="field-{field}-{newer.pk}" value="{newer.pk}"' in body
    assert 'data-field="family_name"' not in body  # the same on both: not highlighted


def test_merge_takes_the_chosen_values_and_keeps_the_other_email_and_phone_as_secondary(manager_client, pair):
    older, newer = pair

    response = manager_client.post(
        reverse("customers:merge"),
        {
            "ids": [older.pk, newer.pk],
            "keep": older.pk,
            "field_email": newer.pk,  # the newer address is the one she uses now
            "field_city": newer.pk,
            "field_given_name": older.pk,
            "field_phone": older.pk,
        },
    )

    assert response.status_code == 302
    kept = Customer.objects.get(pk=older.pk)
    assert (kept.email, kept.secondary_email) == ("hana.yamada@example.jp", "hanako@example.com")
    assert (kept.phone, kept.secondary_phone) == ("+819011112222", "+819033334444")
    assert kept.city == "新宿区"
    assert kept.given_name == "花子"
    assert kept.company == "山田商店"  # empty on the kept record: filled
    merge = CustomerMerge.objects.get()
    assert merge.choices == {"email": "duplicate", "city": "duplicate", "given_name": "primary", "phone": "primary"}
    # the other email still finds her
    assert list(Customer.objects.search("hanako@example")) == [kept]


def test_merge_without_choices_keeps_the_kept_records_values_and_the_others_contacts(pair):
    older, newer = pair

    services.customer_merge(primary=older, duplicate=newer)

    older.refresh_from_db()
    assert older.email == "hanako@example.com"
    assert older.secondary_email == "hana.yamada@example.jp"
    assert older.secondary_phone == "+819033334444"


def test_a_third_email_finding_no_room_is_written_in_the_merge_note(pair):
    older, newer = pair
    Customer.objects.filter(pk=older.pk).update(secondary_email="old@example.com")
    older.refresh_from_db()

    services.customer_merge(primary=older, duplicate=newer)

    older.refresh_from_db()
    assert older.secondary_email == "hana.yamada@example.jp"
    assert "old@example.com" in older.notes.get().body


def test_merge_refuses_a_choice_for_an_unknown_field(pair):
    from django.core.exceptions import ValidationError

    older, newer = pair
    with pytest.raises(ValidationError):
        services.customer_merge(primary=older, duplicate=newer, choices={"is_superuser": "duplicate"})
    assert Customer.objects.count() == 2


# --- the merged-away record's URLs -----------------------------------------------------------------


def test_the_merged_away_records_pages_redirect_to_the_kept_one(manager_client, pair):
    older, newer = pair
    services.customer_merge(primary=older, duplicate=newer)

    detail = manager_client.get(reverse("customers:detail", args=[newer.pk]) + "?timeline=1")
    edit = manager_client.get(reverse("customers:update", args=[newer.pk]))
    timeline = manager_client.get(reverse("customers:timeline", args=[newer.pk]))

    assert detail.status_code == 301
    assert detail["Location"] == reverse("customers:detail", args=[older.pk]) + "?timeline=1"
    assert edit.status_code == 301 and edit["Location"] == reverse("customers:update", args=[older.pk])
    assert timeline.status_code == 301 and timeline["Location"] == reverse("customers:timeline", args=[older.pk])
    assert manager_client.get(reverse("customers:detail", args=[999_999])).status_code == 404


def test_the_api_answers_a_pointer_for_a_merged_away_customer(pair):
    older, newer = pair
    services.customer_merge(primary=older, duplicate=newer)
    _key, raw = api_key_create()
    api = Client(headers={"Authorization": f"Bearer {raw}"})

    response = api.get(f"/api/v1/customers/{newer.pk}/touchpoints/")

    assert response.status_code == 301
    assert response["Location"].endswith(f"/api/v1/customers/{older.pk}/touchpoints/")
    assert response.json()["merged_into"] == older.pk
    assert response.json()["code"] == "customer_merged"
    assert api.get(response["Location"]).status_code == 200
    assert api.get("/api/v1/customers/999999/touchpoints/").status_code == 404
