"""Referrals: a new member who joins with a code and makes a first purchase rewards both sides, once."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from loyalty import services
from loyalty.models import LedgerEntry
from tests.factories import CustomerFactory, member_join
from tests.loyalty.conftest import refreshed

pytestmark = pytest.mark.django_db


@pytest.fixture
def referral_club(club):
    club.referrer_bonus, club.referee_bonus = 500, 300
    club.save()
    return club


def test_the_first_purchase_of_a_referred_member_rewards_both_once(referral_club, buy):
    # given: Hanako refers Ken, who joins with her code
    hanako = member_join(CustomerFactory(given_name="Hanako"), referral_club)
    ken = member_join(CustomerFactory(given_name="Ken"), referral_club, referral_code=hanako.referral_code.lower())
    assert ken.referred_by_id == hanako.pk

    # when: Ken joins and buys nothing yet, then makes purchases
    assert refreshed(hanako).balance == 0
    touchpoint = buy(ken.customer, "1000")
    buy(ken.customer, "1000")
    services.points_earn_for_purchase(touchpoint=touchpoint)  # a replayed event

    # then: Hanako got 500 and Ken 300 (plus his own points), once each
    assert refreshed(hanako).balance == 500
    assert refreshed(ken).balance == 300 + 10 + 10
    assert LedgerEntry.objects.filter(kind="referral").count() == 2
    assert refreshed(ken).referral_rewarded_at is not None
    assert services.ledger_audit() == []


def test_a_closed_referrer_gets_nothing_but_the_new_member_still_does(referral_club, buy):
    hanako = member_join(CustomerFactory(), referral_club)
    ken = member_join(CustomerFactory(), referral_club, referral_code=hanako.referral_code)
    services.membership_set_status(membership=hanako, status="closed")
    buy(ken.customer, "1000")
    assert (refreshed(hanako).balance, refreshed(ken).balance) == (0, 310)


def test_an_unknown_code_or_ones_own_code_is_refused(referral_club):
    with pytest.raises(ValidationError):
        member_join(CustomerFactory(), referral_club, referral_code="NOSUCHCODE")
    from loyalty.models import Programme

    hanako = member_join(CustomerFactory(), referral_club)
    other = Programme.objects.create(name="Other")
    with pytest.raises(ValidationError):  # a code of another programme
        member_join(CustomerFactory(), other, referral_code=hanako.referral_code)
    with pytest.raises(ValidationError):  # joining twice
        member_join(hanako.customer, referral_club)
