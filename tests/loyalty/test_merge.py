"""A customer merge keeps one membership per programme: the duplicate's is folded into the primary's."""

from __future__ import annotations

import datetime as dt

import pytest

from customers.services import customer_merge
from loyalty import services
from loyalty.models import Greeting, LedgerEntry, LoyaltyAccount, Membership, Programme
from tests.factories import CustomerFactory, RewardFactory, member_join

pytestmark = pytest.mark.django_db


def test_merging_two_members_of_the_same_programme_folds_their_memberships(club, buy):
    # given: the same person twice, both members, with points, a redemption, a greeting each
    primary = member_join(CustomerFactory(), club)
    duplicate = member_join(CustomerFactory(), club)
    online = member_join(duplicate.customer, Programme.objects.create(name="Online"))
    buy(primary.customer, "10000")
    buy(duplicate.customer, "150000")  # Silver
    services.points_redeem(membership=duplicate, reward=RewardFactory(programme=club, points_cost=100), key="r")
    for m in (primary, duplicate):
        Greeting.objects.create(
            customer=m.customer, membership=m, kind="birthday", occasion="2030", due_on=dt.date(2030, 1, 1)
        )

    # when: they are merged
    customer_merge(primary=primary.customer, duplicate=duplicate.customer)

    # then: one membership per programme, with every entry, the sum of the balances and the higher tier
    kept = Membership.objects.get(pk=primary.pk)
    assert not Membership.objects.filter(pk=duplicate.pk).exists()
    assert Membership.objects.get(pk=online.pk).customer_id == primary.customer_id
    assert (kept.balance, kept.purchase_count, kept.tier.name) == (100 + 1500 - 100, 2, "Silver")
    assert LedgerEntry.objects.filter(membership=kept).count() == 3
    assert Greeting.objects.filter(customer=primary.customer, kind="birthday", occasion="2030").count() == 1
    assert LoyaltyAccount.objects.get(customer=primary.customer).memberships == 2
    assert services.ledger_audit() == []
