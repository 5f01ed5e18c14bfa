"""The SLA badge while a ticket waits on the customer, a business-hours countdown in business hours, and the
header's search (crm/search.py)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from feedback import services
from feedback.models import SlaPolicy
from feedback.queue import CountdownFormat
from tests.factories import CustomerFactory, ticket_create

TOKYO = ZoneInfo("Asia/Tokyo")
JA = {"HTTP_ACCEPT_LANGUAGE": "ja"}
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def waiting_ticket(manager):
    ticket = ticket_create(CustomerFactory(family_name="安藤", given_name="裕子"), subject="蓋が閉まらない")
    services.ticket_status_change(ticket=ticket, status="waiting", by=manager)
    return ticket


@pytest.mark.django_db
def test_a_ticket_waiting_on_the_customer_shows_its_sla_as_paused(manager_client, waiting_ticket):
    detail = manager_client.get(reverse("feedback:ticket_detail", args=[waiting_ticket.pk]), **JA).content.decode()
    assert "sla-paused" in detail and "一時停止中" in detail
    queue = manager_client.get(reverse("feedback:queue") + "?status=waiting", **EN).content.decode()
    assert "sla-paused" in queue and "Paused" in queue


@pytest.mark.django_db
def test_a_business_hours_sla_counts_down_in_business_hours():
    # Four working hours from Friday 27 November 2026 17:00 (Tokyo, 09:00–18:00 Monday to Friday) are due on
    # Monday 30 November at 12:00: 67 hours on the clock, 4 in business hours.
    policy = SlaPolicy.objects.get(priority="normal", is_follow_up=False)
    policy.business_hours = True
    policy.save()
    opened = dt.datetime(2026, 11, 27, 17, tzinfo=TOKYO)
    ticket = ticket_create(CustomerFactory(), now=opened)
    ticket.refresh_from_db()
    assert ticket.sla_policy.business_hours
    now = dt.datetime(2026, 11, 27, 17, 0, tzinfo=TOKYO)
    countdown = CountdownFormat()(ticket, now)
    due = ticket.next_due_at.astimezone(TOKYO)
    assert countdown.state in {"ok", "soon"} and due.weekday() == 0  # Monday
    hours = (due - now).total_seconds() / 3600
    assert hours > 60  # what the clock would have said
    assert "(business hours)" in countdown.text and " d " not in countdown.text


@pytest.mark.django_db
def test_a_clock_hours_sla_still_counts_in_clock_hours(support):
    SlaPolicy.objects.filter(priority="normal").update(business_hours=False)
    ticket = ticket_create(CustomerFactory())
    ticket.refresh_from_db()
    text = CountdownFormat()(ticket, ticket.created_at).text
    assert "business hours" not in text and "left" in text


# --- The header's search ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_header_has_a_search_box_that_posts(manager_client):
    body = manager_client.get(reverse("home"), **JA).content.decode()
    assert 'id="global-search"' in body and 'id="global-search-wide"' in body
    assert body.count('action="/search/" method="post"') == 2


@pytest.mark.django_db
def test_a_ticket_reference_goes_straight_to_its_ticket(manager_client):
    ticket = ticket_create(CustomerFactory())
    # another ticket mentions the reference in its subject: the exact reference still wins
    ticket_create(CustomerFactory(), subject=f"About {ticket.reference} again")
    response = manager_client.post(reverse("search"), {"q": ticket.reference.lower()})
    assert response.status_code == 302 and response["Location"] == ticket.get_absolute_url()


@pytest.mark.django_db
def test_customers_are_found_by_kana_typed_in_hiragana_and_by_phone(manager_client):
    customer = CustomerFactory(
        family_name="安藤",
        given_name="裕子",
        family_name_kana="アンドウ",
        given_name_kana="ユウコ",
        phone="+819012345678",
    )
    for q in ("あんどう", "090-1234-5678", customer.email):
        body = manager_client.post(reverse("search"), {"q": q}, **JA).content.decode()
        assert customer.get_absolute_url() in body and "安藤 裕子" in body, q


@pytest.mark.django_db
def test_search_shows_only_what_the_role_may_see(marketing_client):
    customer = CustomerFactory(family_name="安藤", given_name="裕子")
    ticket_create(customer, subject="安藤さんの蓋")
    body = marketing_client.post(reverse("search"), {"q": "安藤"}).content.decode()
    assert 'id="search-tickets"' not in body


@pytest.mark.django_db
def test_an_empty_or_oversized_search_answers_with_the_form_not_an_error(manager_client):
    assert manager_client.post(reverse("search"), {"q": ""}).status_code == 200
    assert manager_client.post(reverse("search"), {"q": "x" * 500}).status_code == 200
    assert manager_client.get(reverse("search")).status_code == 200


def test_search_needs_a_login(client):
    response = client.post(reverse("search"), {"q": "安藤"})
    assert response.status_code == 302 and "login" in response["Location"]
