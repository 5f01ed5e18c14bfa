"""50 redemptions at once from one member card, against one balance, on real PostgreSQL: each request is a real
POST to the card's redeem page from its own thread and database connection, the way phones (and a member tapping
on two of them) would. Some repeat another's key (a double tap). The balance is never overspent."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections
from django.test import Client
from django.urls import reverse

from loyalty import services
from loyalty.models import LedgerEntry, Membership, Redemption
from loyalty.services import cards
from tests.factories import CustomerFactory, ProgrammeFactory, RewardFactory, member_join

REQUESTS = 50


@pytest.mark.django_db(transaction=True)
def test_fifty_parallel_redemptions_from_the_card_never_overspend():
    # given: a member with 1,000 points, a 100-point reward, and 50 phones signed in to the card
    programme = ProgrammeFactory(name="Card concurrency club")
    membership = member_join(CustomerFactory(), programme)
    services.points_adjust(membership=membership, points=1_000, reason="test", key="start")
    reward = RewardFactory(programme=programme, points_cost=100)
    link = cards.card_link(cards.card_for(membership))
    open_path = "/" + link.split("/", 3)[3]
    phones = []
    for _ in range(REQUESTS):
        phone = Client()
        assert phone.get(open_path).status_code == 302
        phones.append(phone)
    connections.close_all()
    start = threading.Barrier(REQUESTS)

    def tap(i: int) -> tuple[int, str]:
        try:
            start.wait()
            key = f"{i % 40:032x}"  # the last ten repeat a key: double taps
            response = phones[i].post(reverse("member:redeem"), {"reward": reward.pk, "key": key})
            return response.status_code, response.get("Location", "")
        finally:
            connections.close_all()

    # when: all 50 post at the same instant
    with ThreadPoolExecutor(max_workers=REQUESTS) as pool:
        results = list(pool.map(tap, range(REQUESTS)))

    # then: every request answered (no 500), exactly ten redemptions, the books balance
    assert all(status == 302 for status, _location in results), results
    vouchers = [location for _status, location in results if "/vouchers/" in location]
    assert len(set(vouchers)) == 10
    membership.refresh_from_db()
    assert membership.balance == 0
    assert Redemption.objects.filter(membership=membership).count() == 10
    assert LedgerEntry.objects.filter(membership=membership, kind="redeem").count() == 10
    assert sum(LedgerEntry.objects.filter(membership=membership).values_list("points", flat=True)) == 0
    assert Membership.objects.get(pk=membership.pk).balance >= 0
    assert all(re.search(r"/m/card/(vouchers/\d+/)?$", location) for _status, location in results)
