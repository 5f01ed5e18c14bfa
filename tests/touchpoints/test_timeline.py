import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from customers.timeline import timeline_page
from tests.factories import CustomerFactory, NoteFactory, touchpoint_create
from touchpoints.models import TouchpointType
from touchpoints.services import TouchpointData, journey_stage_move, touchpoint_record_batch

pytestmark = pytest.mark.django_db


def record_many(customer, n: int) -> None:
    research, survey = TouchpointType.objects.get(slug="research"), TouchpointType.objects.get(slug="survey")
    start = timezone.now() - dt.timedelta(days=n)
    items = [
        TouchpointData(
            customer_id=customer.pk,
            touchpoint_type=survey if i == n - 1 else research,
            channel="web",
            occurred_at=start + dt.timedelta(days=i),
            summary=f"touchpoint {i}",
        )
        for i in range(n)
    ]
    for chunk in range(0, n, 1000):
        touchpoint_record_batch(items=items[chunk : chunk + 1000])


def test_timeline_mixes_touchpoints_stage_changes_and_notes_newest_first():
    customer = CustomerFactory()
    now = timezone.now()
    touchpoint_create(customer, "brand-exposure", occurred_at=now - dt.timedelta(days=3), summary="ad")
    NoteFactory(customer=customer, body="called back", created_at=now - dt.timedelta(days=2))
    touchpoint_create(customer, "transaction", occurred_at=now - dt.timedelta(days=1), summary="bought")
    journey_stage_move(customer=customer, to_stage="retention", reason="VIP", by=None)
    page = timeline_page(customer)
    assert [e.kind for e in page.entries] == [
        "transition",
        "transition",
        "touchpoint",
        "note",
        "transition",
        "touchpoint",
    ]
    assert page.entries[0].obj.reason == "VIP"
    assert page.entries[2].obj.summary == "bought"


def test_timeline_pages_with_a_cursor_through_1000_touchpoints():
    customer = CustomerFactory()
    record_many(customer, 60)
    seen, cursor = [], ""
    while True:
        page = timeline_page(customer, cursor=cursor, limit=25, kinds=["touchpoint"])
        seen.extend(e.obj.summary for e in page.entries)
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert seen == [f"touchpoint {i}" for i in reversed(range(60))]


def _customer_page_queries(client, n: int) -> int:
    customer = CustomerFactory()
    record_many(customer, n)
    client.get(customer.get_absolute_url())  # warm the session and the touchpoint-type menu caches
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(customer.get_absolute_url())
    assert response.status_code == 200
    # The page loads its timeline by htmx (customers:timeline); read that as the browser does.
    body = client.get(
        reverse("customers:timeline", args=[customer.pk]), headers={"HX-Request": "true"}
    ).content.decode()
    assert f"touchpoint {n - 1}" in body  # the newest
    assert ("Show older" in body) == (n > 25)
    return len(ctx.captured_queries)


def test_customer_page_query_count_is_the_same_with_10_and_1000_touchpoints(support_client):
    assert _customer_page_queries(support_client, 10) == _customer_page_queries(support_client, 1000)


def test_timeline_htmx_page_query_count_is_the_same_with_10_and_1000_touchpoints(support_client):
    counts = []
    for n in (10, 1000):
        customer = CustomerFactory()
        record_many(customer, n)
        url = reverse("customers:timeline", args=[customer.pk])
        with CaptureQueriesContext(connection) as ctx:
            response = support_client.get(url, {"stage": "consideration", "channel": "web"})
        assert response.status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]
