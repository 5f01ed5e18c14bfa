"""Placeholders of other apps in broadcasts: read once per chunk (the bulk hook), not once per message."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from customers.models import Segment
from loyalty import services as loyalty
from tests.factories import MessageTemplateFactory, consenting_customer, member_join, programme_with_tiers
from touchpoints.outreach import broadcasts, placeholders
from touchpoints.outreach.models import OutboundMessage

pytestmark = pytest.mark.django_db

BODY = "Dear {customer_name}, you have {points_balance} points ({tier}). {unsubscribe_url}"


@pytest.fixture(autouse=True)
def _no_quiet_hours(settings):
    settings.TSUNAGU_QUIET_HOURS = ""


def audience(size: int, *, tag: str, source: str) -> tuple[Segment, list]:
    """``size`` consenting English speakers from ``source``; every other one a club member with points."""
    club = programme_with_tiers(name=f"Club {tag}")
    customers = [
        consenting_customer(email=f"{tag}{i}@example.com", source=source, preferred_language="en") for i in range(size)
    ]
    for i, customer in enumerate(customers):
        if i % 2 == 0:
            membership = member_join(customer, club)
            loyalty.points_adjust(membership=membership, points=1000 + i, reason="test", key=f"{tag}-{i}")
    return Segment.objects.create(name=tag, rules={"source": [source]}), customers


def prepare_counting(segment, marketing) -> tuple[int, int]:
    template = MessageTemplateFactory(subject_en="Your points", body_en=BODY)
    broadcast = broadcasts.broadcast_create(name="Points", template=template, segment=segment, by=marketing)
    with CaptureQueriesContext(connection) as captured:
        prepared = broadcasts.broadcast_prepare(broadcast_id=broadcast.pk)
    return prepared, len(captured.captured_queries)


def test_a_broadcast_reads_the_loyalty_placeholders_once_whatever_its_size(published, marketing):
    # given: two segments of 3 and 30 customers, half of them members with points and a tier
    small, small_customers = audience(3, tag="alpha", source="store")
    large, large_customers = audience(30, tag="bravo", source="event")

    # when: each broadcast is prepared
    prepared_3, queries_3 = prepare_counting(small, marketing)
    prepared_30, queries_30 = prepare_counting(large, marketing)

    # then: the same number of queries for 3 and 30 messages, and each message has its own values
    print(f"\nbroadcast preparation: {queries_3} queries for 3 messages, {queries_30} for 30")
    assert (prepared_3, prepared_30) == (3, 30)
    assert queries_3 == queries_30
    for i, customer in enumerate(large_customers):
        body = OutboundMessage.objects.get(customer=customer).body
        if i % 2 == 0:
            assert f"you have {1000 + i:,} points (Regular)" in body
        else:
            assert "you have  points (). " in body  # a non-member: no balance (see {if …}…{end})


def test_bulk_values_match_the_one_by_one_values(db):
    # given: a member with points, and a customer who is not a member
    member = consenting_customer(email="m@example.com")
    membership = member_join(member, programme_with_tiers(name="Club"))
    loyalty.points_adjust(membership=membership, points=12345, reason="test", key="start")
    stranger = consenting_customer(email="s@example.com")
    text = "{points_balance}|{tier}"

    # when: rendered one by one, then inside bulk()
    alone = [placeholders.render(text, customer=c, language="en") for c in (member, stranger)]
    with CaptureQueriesContext(connection) as captured, placeholders.bulk([member.pk, stranger.pk]):
        together = [placeholders.render(text, customer=c, language="en") for c in (member, stranger)]

    # then: the same text, for two queries (one per placeholder) instead of four
    assert alone == together == ["12,345|Regular", "|"]  # a non-member has no balance, not 0
    assert len(captured.captured_queries) == 2
