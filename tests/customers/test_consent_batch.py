"""The batch form of the consent check (``preferences_attach``/``allows_many``): one query for a whole batch, and
the same decision as ``allows`` asked one customer at a time, whatever the preferences."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.utils import timezone

from customers import consent
from customers.models import ContactPreference, Customer
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def _random_customers(r: random.Random, count: int) -> list[int]:
    """Customers with random consent and do-not-contact, and random histories of choices per cell (some cells
    chosen several times, some at the same instant, so the newest-row rule and its tie-break both count)."""
    base = timezone.now() - dt.timedelta(days=30)
    ids = []
    rows = []
    for _ in range(count):
        customer = CustomerFactory(marketing_consent=r.random() < 0.6, do_not_contact=r.random() < 0.15)
        ids.append(customer.pk)
        for channel, purpose in consent.CELLS:
            for _change in range(r.choice([0, 0, 1, 2, 3])):
                at = base + dt.timedelta(hours=r.choice([1, 2, 2, 5]))
                rows.append(
                    ContactPreference(
                        customer=customer, channel=channel, purpose=purpose, allowed=r.random() < 0.5, at=at,
                        source=consent.Source.PREFERENCE_CENTRE, evidence="test",
                    )
                )  # fmt: skip
    ContactPreference.objects.bulk_create(rows)
    return ids


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_allows_many_decides_as_allows_does_one_by_one(seed, django_assert_num_queries):
    # given customers with random preferences
    ids = _random_customers(random.Random(seed), 25)
    single = {
        (pk, cell): consent.allows(Customer.objects.get(pk=pk), *cell) for pk in ids for cell in consent.CELLS
    }  # fmt: skip
    # when the batch form answers for all of them, cell by cell
    customers = list(Customer.objects.filter(pk__in=ids))
    batch = {}
    for cell in consent.CELLS:
        with django_assert_num_queries(1):
            answers = consent.allows_many(customers, *cell)
        batch.update({(pk, cell): allowed for pk, allowed in answers.items()})
    # then every decision is the same
    assert batch == single
    assert len(set(single.values())) == 2  # the data had both answers


def test_allows_answers_from_attached_preferences_without_a_query(django_assert_num_queries):
    # given a batch whose preferences were read once
    r = random.Random(7)
    customers = list(Customer.objects.filter(pk__in=_random_customers(r, 10)))
    with django_assert_num_queries(1):
        consent.preferences_attach(customers)
    # then asking each cell of each customer costs nothing more
    with django_assert_num_queries(0):
        for customer in customers:
            for cell in consent.CELLS:
                consent.allows(customer, *cell)


def test_a_change_made_after_attaching_is_seen():
    # given a customer allowing LINE greetings, attached
    customer = CustomerFactory(marketing_consent=True)
    consent.preferences_attach([customer])
    assert consent.allows(customer, "line", "greetings")
    # when the customer says no through the service
    consent.preferences_set(
        customer=customer, choices={("line", "greetings"): False}, source=consent.Source.PREFERENCE_CENTRE, evidence=""
    )
    # then the same object answers no
    assert not consent.allows(customer, "line", "greetings")
