""" "Who to contact this week" (crm/insights/scoring_views.py) and the score panel on the customer page
(crm/insights/panels.py)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from crm.insights.models import CustomerScore, Segment
from crm.insights.scoring import follow_up_due
from customers.models import Customer
from tests.factories import CustomerFactory, UserFactory
from touchpoints.models import Touchpoint
from touchpoints.outreach.models import StaffTask

pytestmark = pytest.mark.django_db
LIST = reverse("insights_scoring:contact_list")
EXPORT = reverse("insights_scoring:contact_export")
HTMX = {"HTTP_HX_REQUEST": "true"}


def login(user) -> Client:
    """A client of its own per user (the role fixtures share pytest-django's ``client``)."""
    client = Client()
    client.force_login(user)
    return client


def score(customer=None, *, segment=Segment.AT_RISK, monetary=10000, r=2, previous_r=None, **kwargs):
    customer = customer or CustomerFactory()
    now = timezone.now()
    return CustomerScore.objects.create(
        customer=customer,
        last_purchase_at=now - dt.timedelta(days=90),
        recency_days=90,
        frequency=3,
        monetary=Decimal(monetary),
        r_score=r,
        f_score=4,
        m_score=4,
        segment=segment,
        previous_r_score=previous_r,
        previous_segment="",
        segment_since=now,
        scored_at=now,
        **kwargs,
    )


def call_key(response) -> str:
    """The key of the first "Log a call" form on a page (or in a row an action answered), as the browser posts it."""
    return re.search(r'name="key" value="([0-9a-f]{32})"', response.content.decode()).group(1)


def rows(response) -> list[int]:
    return [row.customer_id for row in response.context["page"].rows]


def test_list_holds_slipping_valuable_customers_biggest_spenders_first(manager_client):
    at_risk = score(monetary=5000)
    cant_lose = score(segment=Segment.CANT_LOSE, monetary=90000, r=1)
    sleepy = score(segment=Segment.ABOUT_TO_SLEEP, monetary=2000, r=3)
    slipping = score(segment=Segment.CHAMPIONS, monetary=40000, r=4, previous_r=5)
    score(segment=Segment.CHAMPIONS, monetary=80000, r=5, previous_r=5)  # steady: not listed
    score(segment=Segment.LOYAL, monetary=70000, r=4, previous_r=None)  # first scoring: not listed
    score(segment=Segment.HIBERNATING, monetary=60000, r=1)

    response = manager_client.get(LIST)

    assert response.status_code == 200
    assert rows(response) == [c.customer_id for c in (cant_lose, slipping, at_risk, sleepy)]
    assert response.context["page"].count == 4


def test_filters_by_segment_and_owner(manager_client, manager):
    mine = score(customer=CustomerFactory(owner=manager), monetary=100)
    other = score(monetary=200)
    sleepy = score(segment=Segment.ABOUT_TO_SLEEP, r=3)
    new = score(segment=Segment.NEW, r=5)

    assert rows(manager_client.get(LIST, {"owner": "mine"})) == [mine.customer_id]
    assert rows(manager_client.get(LIST, {"segment": "at_risk"})) == [other.customer_id, mine.customer_id]
    assert rows(manager_client.get(LIST, {"segment": "about_to_sleep"})) == [sleepy.customer_id]
    assert rows(manager_client.get(LIST, {"segment": "new"})) == [new.customer_id]  # the panel's link
    assert len(rows(manager_client.get(LIST, {"segment": "nonsense' OR 1=1"}))) == 3  # ignored


def test_keyset_pages_walk_the_whole_list(manager_client, settings):
    settings.TSUNAGU_PAGE_SIZE = 2
    scores = [score(monetary=1000 * (i % 3)) for i in range(5)]  # ties on spend: the customer id breaks them
    expected = [s.customer_id for s in sorted(scores, key=lambda s: (-s.monetary, -s.customer_id))]

    seen, params = [], {}
    for _page in range(3):
        response = manager_client.get(LIST, params)
        seen += rows(response)
        params = {"after": response.context["page"].next_cursor}

    assert seen == expected
    back = manager_client.get(LIST, {"before": response.context["page"].previous_cursor})
    assert rows(back) == expected[2:4]


def test_list_runs_the_same_queries_for_3_and_30_rows(manager_client):
    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert manager_client.get(LIST).status_code == 200
        return len(ctx.captured_queries)

    owners = [UserFactory(username="owner-a"), UserFactory(username="owner-b")]
    for i in range(3):
        score(customer=CustomerFactory(owner=owners[i % 2] if i else None))
    manager_client.get(LIST)  # warm the session and permission caches
    three = count()
    for i in range(27):
        customer = CustomerFactory(owner=owners[i % 2])
        score(customer=customer)
        if i % 3 == 0:
            StaffTask.objects.create(customer=customer, title="Call", due_at=timezone.now())
    thirty = count()

    assert three == thirty
    assert len(manager_client.get(LIST).context["page"].rows) == 30


def test_names_are_escaped(manager_client):
    score(customer=CustomerFactory(family_name="<script>alert(1)</script>", given_name="<b>x</b>"))

    body = manager_client.get(LIST).content.decode()

    assert "<script>alert(1)</script>" not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "<b>x</b>" not in body


@pytest.mark.parametrize(
    ("role", "status"),
    [("manager", 200), ("marketing", 200), ("support", 403)],
    ids=["manager", "marketing", "support"],
)
def test_list_permission_per_role(client, request, role, status):
    client.force_login(request.getfixturevalue(role))
    assert client.get(LIST).status_code == status


def test_anonymous_is_sent_to_log_in(client):
    customer = CustomerFactory()
    for url in (
        LIST,
        EXPORT,
        reverse("insights_scoring:contact_call", args=[customer.pk]),
        reverse("insights_scoring:contact_followup", args=[customer.pk]),
    ):
        response = client.post(url) if "contact/" in url and url not in (LIST, EXPORT) else client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_spend_and_export_are_for_managers_only(manager, marketing):
    manager_client, marketing_client = login(manager), login(marketing)
    score(monetary=123456)

    assert "¥123,456" in manager_client.get(LIST).content.decode()
    marketing_page = marketing_client.get(LIST).content.decode()
    assert "123,456" not in marketing_page and "Net spend" not in marketing_page
    assert "contact-export" not in marketing_page
    assert marketing_client.get(EXPORT).status_code == 403


def test_actions_permission_per_role(support, marketing, manager):
    support_client, marketing_client, manager_client = login(support), login(marketing), login(manager)
    customer = score().customer
    call = reverse("insights_scoring:contact_call", args=[customer.pk])
    follow = reverse("insights_scoring:contact_followup", args=[customer.pk])
    key = {"key": "a" * 32}

    assert support_client.post(call, key).status_code == 403
    assert support_client.post(follow).status_code == 403
    assert marketing_client.post(follow).status_code == 403  # no task list to see it in
    assert marketing_client.post(call, key, **HTMX).status_code == 200
    assert manager_client.post(follow, **HTMX).status_code == 200
    assert manager_client.get(call).status_code == 405
    assert "Start a follow-up" not in marketing_client.get(LIST).content.decode()


def test_log_a_call_records_one_outbound_phone_touchpoint_per_form(manager_client, manager):
    customer = score().customer
    url = reverse("insights_scoring:contact_call", args=[customer.pk])
    page = manager_client.get(LIST)
    key = call_key(page)

    first = manager_client.post(url, {"key": key}, **HTMX)
    again = manager_client.post(url, {"key": key}, **HTMX)  # a double click

    assert first.status_code == again.status_code == 200
    assert "Call logged" in first.content.decode()
    assert first.content.decode().lstrip().startswith("<tr")
    (touchpoint,) = Touchpoint.objects.filter(customer=customer)
    assert (touchpoint.type.slug, touchpoint.channel, touchpoint.direction) == ("support", "phone", "outbound")
    assert touchpoint.recorded_by_user == manager
    new_key = call_key(first)
    assert new_key != key  # the next click is a new call
    manager_client.post(url, {"key": new_key}, **HTMX)
    assert Touchpoint.objects.filter(customer=customer).count() == 2
    assert manager_client.post(url, {"key": "not-a-key"}).status_code == 400


def test_start_a_follow_up_creates_one_task_for_me(manager_client, manager):
    customer = score(customer=CustomerFactory(family_name="Sato")).customer
    url = reverse("insights_scoring:contact_followup", args=[customer.pk])

    first = manager_client.post(url, **HTMX)
    again = manager_client.post(url, **HTMX)

    (task,) = StaffTask.objects.filter(customer=customer)
    assert (task.assignee, task.status, task.channel) == (manager, StaffTask.Status.OPEN, "phone")
    assert "Sato" in task.title and "At risk" in task.title
    assert task.due_at == follow_up_due(task.created_at)
    assert "Follow-up task created" in first.content.decode()
    assert "already open" in again.content.decode()
    assert f'data-open-task="{task.pk}"' in again.content.decode()
    assert 'data-action="follow-up"' not in again.content.decode()


def test_follow_up_without_htmx_goes_back_to_the_list(manager_client):
    customer = score().customer

    response = manager_client.post(reverse("insights_scoring:contact_followup", args=[customer.pk]), follow=True)

    assert response.redirect_chain[-1][0] == LIST
    assert "Follow-up task created" in response.content.decode()


def test_follow_up_is_due_two_working_days_later_at_the_end_of_the_day():
    tokyo = timezone.get_default_timezone()
    friday = dt.datetime(2026, 3, 13, 10, 0, tzinfo=tokyo)

    due = timezone.localtime(follow_up_due(friday))

    assert due.weekday() in range(5) and due.date() > dt.date(2026, 3, 15)
    assert (due.hour, due.minute) == (18, 0)


def test_export_is_excel_safe(manager_client):
    score(customer=CustomerFactory(family_name="=HYPERLINK(1)", given_name="=SUM(A1)"), monetary=5000)

    response = manager_client.get(EXPORT)
    body = b"".join(response.streaming_content).decode("utf-8")

    assert response["Content-Type"].startswith("text/csv")
    assert body.startswith("\ufeffCustomer ID,Name,Email,Segment,RFM")
    assert "\r\n" in body
    (header, row) = body.strip("\ufeff\r\n").split("\r\n")
    assert row.split(",")[1].startswith("'=") and "At risk" in row and ",5000" in row


# --- The panel on the customer page -----------------------------------------------------------------------------


def _page_queries(client, customer) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(customer.get_absolute_url())
    assert response.status_code == 200
    return len(ctx.captured_queries), response.content.decode()


def test_panel_costs_the_customer_page_no_query(manager_client):
    scored = score(segment=Segment.CANT_LOSE, monetary=76543).customer
    unscored = CustomerFactory()
    _page_queries(manager_client, unscored)  # warm the caches

    with_score, body = _page_queries(manager_client, scored)
    without_score, empty = _page_queries(manager_client, unscored)

    assert with_score == without_score
    assert 'id="score-panel"' in body and "Can&#x27;t lose them" in body and "¥76,543" in body
    assert f"{LIST}?segment=cant_lose" in body
    assert 'id="score-none"' in empty


def test_panel_by_role(marketing, support):
    marketing_client, support_client = login(marketing), login(support)
    customer = score(monetary=76543).customer

    marketing = marketing_client.get(customer.get_absolute_url()).content.decode()
    support = support_client.get(customer.get_absolute_url()).content.decode()

    assert 'id="score-panel"' in marketing and "76,543" not in marketing
    assert 'id="score-panel"' not in support


def test_a_call_is_logged_with_its_outcome_and_a_note_and_the_row_shows_the_phone(manager_client):
    customer = score().customer
    Customer.objects.filter(pk=customer.pk).update(phone="+81312345678")
    page = manager_client.get(LIST)
    key = call_key(page)
    assert "03-1234-5678" in page.content.decode() and 'href="tel:+81312345678"' in page.content.decode()

    manager_client.post(
        reverse("insights_scoring:contact_call", args=[customer.pk]),
        {"key": key, "outcome": "call_back", "note": "Busy, call Friday"},
        **HTMX,
    )
    bad = manager_client.post(
        reverse("insights_scoring:contact_call", args=[customer.pk]), {"key": "b" * 32, "outcome": "nope"}, **HTMX
    )

    (touchpoint,) = Touchpoint.objects.filter(customer=customer)
    assert touchpoint.metadata["outcome"] == "call_back" and "Busy, call Friday" in touchpoint.summary
    assert "Asked to call back" in touchpoint.summary
    assert bad.status_code == 200 and "Choose how the call went" in bad.content.decode()
