"""Yen written one way on every page (customers.money) and the earn rate typed as shops say it."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from customers.money import format_money
from loyalty.forms import ProgrammeForm
from loyalty.models import Programme
from tests.factories import CustomerFactory, ProgrammeFactory, purchase_record

JA = {"HTTP_ACCEPT_LANGUAGE": "ja"}
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def test_yen_is_written_one_way_per_language():
    assert format_money(1500, language="ja") == "1,500円"
    assert format_money(Decimal("1500.00"), language="en") == "¥1,500"
    assert format_money(-200, language="ja") == "−200円"
    assert format_money(Decimal("12.5"), "usd", language="ja") == "12.50 USD"
    assert format_money(None) == "—"


def _programme_data(**rate) -> dict:
    return {
        "name": "Shop club",
        "currency": "JPY",
        "points_lifetime_months": "24",
        "expiry_reminder_days": "30",
        "tier_basis": "points",
        "tier_grace_days": "30",
        "birthday_bonus": "0",
        "anniversary_bonus": "0",
        "referrer_bonus": "0",
        "referee_bonus": "0",
        "purchase_milestones": "",
        "purchase_milestone_bonus": "0",
        **rate,
    }


@pytest.mark.parametrize(
    ("typed", "rate"),
    [
        ({"spend_per_point": "100"}, Decimal("0.0100")),
        ({"spend_per_point": "200"}, Decimal("0.0050")),
        ({"points_back_percent": "1"}, Decimal("0.0100")),
        ({"points_back_percent": "2.5"}, Decimal("0.0250")),
        ({"spend_per_point": "100", "points_back_percent": "1"}, Decimal("0.0100")),
        ({"points_back_percent": "0"}, Decimal("0")),
    ],
)
@pytest.mark.django_db
def test_the_earn_rate_is_typed_as_shops_say_it_and_stored_as_before(typed, rate):
    form = ProgrammeForm(data=_programme_data(**typed))
    assert form.is_valid(), form.errors
    assert form.instance.earn_rate == rate


@pytest.mark.parametrize(
    ("typed", "field"),
    [
        ({}, "spend_per_point"),
        ({"spend_per_point": "100", "points_back_percent": "5"}, "points_back_percent"),
        ({"spend_per_point": "3000"}, "spend_per_point"),
        ({"spend_per_point": "0"}, "spend_per_point"),
        ({"points_back_percent": "-1"}, "points_back_percent"),
    ],
)
@pytest.mark.django_db
def test_an_earn_rate_that_makes_no_sense_is_refused_with_a_clear_error(typed, field):
    form = ProgrammeForm(data=_programme_data(**typed))
    assert not form.is_valid() and field in form.errors


@pytest.mark.django_db
def test_editing_a_programme_shows_its_rate_as_shops_say_it():
    form = ProgrammeForm(instance=ProgrammeFactory(earn_rate=Decimal("0.0100")))
    assert form.initial["spend_per_point"] == 100 and form.initial["points_back_percent"] == 1


@pytest.mark.django_db
def test_a_marketer_sets_up_a_programme_at_100_yen_a_point(marketing_client):
    response = marketing_client.post(reverse("loyalty:programme_create"), _programme_data(spend_per_point="100"))
    programme = Programme.objects.get(name="Shop club")
    assert response.status_code == 302 and programme.earn_rate == Decimal("0.0100")
    ja = marketing_client.get(programme.get_absolute_url(), **JA).content.decode()
    assert "100円で1ポイント（還元率1%）" in ja
    en = marketing_client.get(programme.get_absolute_url(), **EN).content.decode()
    assert "1 point per ¥100 (1% back)" in en


@pytest.mark.django_db
def test_purchase_amounts_read_the_same_way_on_the_timeline_and_the_touchpoint_list(manager_client):
    customer = CustomerFactory(family_name="安藤", given_name="裕子")
    purchase_record(customer, 1500, order_reference="A-1")
    for url in (reverse("customers:timeline", args=[customer.pk]), reverse("touchpoints:list")):
        ja = manager_client.get(url, **JA).content.decode()
        assert "1,500円" in ja and "JPY" not in ja and "¥1,500" not in ja, url
        en = manager_client.get(url, **EN).content.decode()
        assert "¥1,500" in en and "1,500 JPY" not in en, url
    with translation.override("ja"):
        assert format_money(1500) == "1,500円"
