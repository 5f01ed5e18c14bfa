"""People's names by script and reader's language (customers.names), on every page that shows one."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from customers.names import is_japanese_script, person_name, staff_name, with_honorific
from feedback import services as feedback_services
from loyalty.services import points_adjust
from tests.factories import CannedResponseFactory, CustomerFactory, UserFactory, member_join, ticket_create
from touchpoints.outreach import placeholders
from touchpoints.outreach.rules import task_create

JA = {"HTTP_ACCEPT_LANGUAGE": "ja"}
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


# --- The rule ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["ja", "en"])
def test_a_name_in_japanese_script_is_family_name_first_in_every_language(language):
    with translation.override(language):
        assert person_name("安藤", "裕子") == "安藤 裕子"
        assert person_name("スミス", "ジョン") == "スミス ジョン"
        assert person_name("ｻﾄｳ", "ﾊﾅｺ") == "ｻﾄｳ ﾊﾅｺ"


@pytest.mark.parametrize("language", ["ja", "en"])
def test_a_western_name_is_given_name_first_in_every_language(language):
    with translation.override(language):
        assert person_name("Roberts", "Charlotte") == "Charlotte Roberts"


def test_one_part_alone_is_the_name_and_japanese_script_is_recognised():
    assert person_name("高橋", "") == "高橋"
    assert person_name("", "Emily") == "Emily"
    assert is_japanese_script("𠮷田") and is_japanese_script("々") and not is_japanese_script("Émilie")


def test_honorifics_are_japanese_only():
    assert with_honorific("Charlotte Roberts", language="ja") == "Charlotte Roberts様"
    assert with_honorific("高橋 美咲", "staff", language="ja") == "高橋 美咲さん"
    assert with_honorific("高橋 美咲", "staff", language="en") == "高橋 美咲"
    assert with_honorific("", language="ja") == ""


@pytest.mark.django_db
def test_staff_names_follow_the_rule_and_fall_back_to_the_username():
    assert staff_name(UserFactory(username="m1", first_name="美咲", last_name="高橋")) == "高橋 美咲"
    assert staff_name(UserFactory(username="m2", first_name="Emily", last_name="Carter")) == "Emily Carter"
    assert staff_name(UserFactory(username="m3", first_name="", last_name="")) == "m3"
    assert staff_name(None) == ""


# --- Where names are shown ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_english_interface_keeps_a_kanji_customer_name_family_first(manager_client):
    customer = CustomerFactory(family_name="安藤", given_name="裕子")
    body = manager_client.get(customer.get_absolute_url(), **EN).content.decode()
    assert "安藤 裕子" in body and "裕子 安藤" not in body


@pytest.mark.django_db
def test_a_western_customer_is_greeted_given_name_first_in_japanese_mail():
    customer = CustomerFactory(family_name="Roberts", given_name="Charlotte", preferred_language="ja")
    text = placeholders.render("{customer_name}様", customer=customer, language="ja")
    assert text == "Charlotte Roberts様"
    kanji = CustomerFactory(family_name="安藤", given_name="裕子", preferred_language="en")
    assert placeholders.render("Dear {customer_name}", customer=kanji, language="en") == "Dear 安藤 裕子"


@pytest.mark.django_db
def test_the_agent_name_at_the_foot_of_a_reply_is_family_name_first():
    agent = UserFactory(username="takahashi", first_name="美咲", last_name="高橋", role="Support")
    ticket = ticket_create(CustomerFactory(family_name="Roberts", given_name="Charlotte", preferred_language="ja"))
    canned = CannedResponseFactory(body="{customer_name}様 … {agent_name}")
    text = feedback_services.canned_response_render(canned=canned, ticket=ticket, agent=agent)
    assert text == "Charlotte Roberts様 … 高橋 美咲"


@pytest.mark.django_db
def test_the_welcome_line_and_user_menu_write_a_japanese_colleague_family_name_first(client):
    user = UserFactory(username="misaki", first_name="美咲", last_name="高橋", role="Manager")
    client.force_login(user)
    body = client.get(reverse("home"), **JA).content.decode()
    assert "ようこそ、高橋 美咲さん" in body
    assert "美咲 高橋" not in body
    body = client.get(reverse("home"), **EN).content.decode()
    assert "Welcome, 高橋 美咲" in body


@pytest.mark.django_db
def test_point_history_names_who_adjusted_family_name_first(client):
    user = UserFactory(username="misaki", first_name="美咲", last_name="高橋", role="Manager")
    client.force_login(user)
    membership = member_join(customer=CustomerFactory(family_name="安藤", given_name="裕子"))
    points_adjust(membership=membership, points=100, reason="Goodwill", key="names-1", by=user)
    body = client.get(reverse("loyalty:membership_detail", args=[membership.pk]), **EN).content.decode()
    assert "高橋 美咲" in body and "美咲 高橋" not in body


@pytest.mark.django_db
def test_the_task_list_names_the_assignee_by_the_rule(client):
    user = UserFactory(username="misaki", first_name="美咲", last_name="高橋", role="Manager")
    other = UserFactory(username="emily", first_name="Emily", last_name="Carter", role="Support")
    client.force_login(user)
    customer = CustomerFactory(family_name="Roberts", given_name="Charlotte")
    due = timezone.now() + dt.timedelta(hours=1)
    task_create(customer=customer, title="Call back", due_at=due, by=user, assignee=user)
    task_create(customer=customer, title="Call again", due_at=due, by=user, assignee=other)
    body = client.get(reverse("outreach:tasks") + "?scope=all", **JA).content.decode()
    assert "高橋 美咲" in body and "美咲 高橋" not in body
    assert "Charlotte Roberts" in body and "Roberts Charlotte" not in body
