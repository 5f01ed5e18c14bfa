from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from loyalty.models import Membership
from tests.factories import CustomerFactory, member_join, programme_with_tiers, purchase_record, return_record


@pytest.fixture
def club(db):
    """Tsunagu Club: 1 point per 100 JPY, points valid 12 months, Regular / Silver (1,000) / Gold (5,000)."""
    return programme_with_tiers()


@pytest.fixture
def member(club) -> Membership:
    return member_join(CustomerFactory(family_name="Sato", given_name="Hanako"), club)


@pytest.fixture
def buy(django_capture_on_commit_callbacks):
    """Record a purchase touchpoint and run what happens after its commit (loyalty earns there)."""

    def buy(customer, amount, order_reference: str = "", **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return purchase_record(customer, amount, order_reference, **kwargs)

    return buy


@pytest.fixture
def give_back(django_capture_on_commit_callbacks):
    def give_back(customer, order_reference: str, amount=None, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return return_record(customer, order_reference, amount, **kwargs)

    return give_back


def local(year, month, day, hour=12, minute=0) -> dt.datetime:
    """A moment in the business time zone."""
    return timezone.make_aware(dt.datetime(year, month, day, hour, minute))


def refreshed(membership: Membership) -> Membership:
    membership.refresh_from_db()
    return membership
