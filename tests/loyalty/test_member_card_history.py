"""The card's history: the latest 20 entries on the card, older ones 20 a page ("Earlier history", keyset), in a
constant number of queries however long the ledger."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from loyalty import services
from loyalty.models import LedgerEntry
from loyalty.services import cards
from tests.factories import CustomerFactory, member_join

pytestmark = pytest.mark.django_db


def open_card(client, membership) -> None:
    link = cards.card_link(cards.card_for(membership))
    assert client.get("/" + link.split("/", 3)[3]).status_code == 302


def earn(membership, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        services.points_adjust(membership=membership, points=1, reason=f"Gift {i:03d}", key=f"h-{i}")


def test_the_card_shows_the_latest_20_and_earlier_pages_follow_without_gaps(client, member):
    # given: 45 entries
    earn(member, 45)
    open_card(client, member)

    # when: the card, then "Earlier history" twice
    card = client.get(reverse("member:card"))
    first = card.context["summary"].history
    more = card.context["summary"].history_more
    second = client.get(reverse("member:history"), {"before": more})
    third = client.get(reverse("member:history"), {"before": second.context["more"]})

    # then: 20, 20 and 5 entries, newest first, each once; the last page offers no more
    pages = [first, second.context["history"], third.context["history"]]
    assert [len(p) for p in pages] == [20, 20, 5]
    ids = [e.pk for p in pages for e in p]
    assert len(set(ids)) == 45 and ids == sorted(ids, reverse=True)
    assert 'id="history-more"' in card.content.decode() and third.context["more"] is None
    assert 'id="history-more"' not in third.content.decode()


def test_another_members_entry_is_no_cursor(client, member, club):
    other = member_join(CustomerFactory(), club)
    services.points_adjust(membership=other, points=5, reason="Other", key="other")
    earn(member, 3)
    open_card(client, member)
    foreign = LedgerEntry.objects.filter(membership=other).first()
    response = client.get(reverse("member:history"), {"before": foreign.pk})
    assert response.status_code == 200 and response.context["history"] == []
    assert client.get(reverse("member:history"), {"before": "x"}).status_code == 302


def test_the_card_page_costs_the_same_queries_with_5_and_200_entries(client, member):
    earn(member, 5)
    open_card(client, member)
    client.get(reverse("member:card"))

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("member:card")).status_code == 200
        return len(captured)

    with_5 = count()
    earn(member, 195, start=5)
    assert count() == with_5
