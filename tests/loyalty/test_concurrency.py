"""500 concurrent redemptions against one balance and one limited-stock reward, on real PostgreSQL.

40 threads, each with its own database connection (Django opens one per thread) as web workers would, start
at the same instant and make 500 attempts between them. A tenth of the attempts repeat another's idempotency
key (a double click).
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections

from loyalty import services
from loyalty.models import LedgerEntry, Membership, Redemption, Reward
from tests.factories import CustomerFactory, ProgrammeFactory, RewardFactory, member_join

ATTEMPTS = 500
THREADS = 40


def redeem_concurrently(membership: Membership, reward: Reward) -> Counter:
    start = threading.Barrier(THREADS)
    outcomes: Counter = Counter()
    lock = threading.Lock()

    def attempt(i: int) -> str:
        try:
            key = f"attempt-{i % (ATTEMPTS - ATTEMPTS // 10)}"  # the last 50 repeat a key
            redemption = services.points_redeem(membership=membership, reward=reward, key=key)
            return "replayed" if redemption.replayed else "redeemed"
        except services.InsufficientPoints:
            return "short of points"
        except services.OutOfStock:
            return "out of stock"
        except ValidationError as exc:
            return f"refused: {exc.messages}"
        except Exception as exc:  # anything else is a bug (a 500 for the user)
            return f"error: {type(exc).__name__}: {exc}"

    def worker(w: int) -> None:
        """One thread, one connection, its share of the attempts; all threads start at the same instant."""
        try:
            start.wait()
            for i in range(w, ATTEMPTS, THREADS):
                outcome = attempt(i)
                with lock:
                    outcomes[outcome] += 1
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        list(pool.map(worker, range(THREADS)))
    return outcomes


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("balance", "stock", "redeemed", "left"),
    [
        (1_000, None, 100, 0),  # the balance runs out: 100 redemptions of 10 points
        (5_000, 150, 150, 3_500),  # the stock runs out first: 150 of them
    ],
    ids=["balance runs out", "stock runs out"],
)
def test_concurrent_redemptions_never_overspend(balance, stock, redeemed, left):
    # given: a member with ``balance`` points and a 10-point reward with ``stock``
    programme = ProgrammeFactory(name="Concurrency club")
    membership = member_join(CustomerFactory(), programme)
    services.points_adjust(membership=membership, points=balance, reason="test", key="start")
    reward = RewardFactory(programme=programme, points_cost=10, stock=stock)

    # when: 500 attempts, 40 at a time, each on its own connection
    outcomes = redeem_concurrently(membership, reward)

    # then: exactly as many redemptions as the balance or stock allows, no errors, and the books balance
    membership.refresh_from_db()
    reward.refresh_from_db()
    assert not [o for o in outcomes if o.startswith(("error", "refused"))], outcomes
    assert outcomes["redeemed"] == redeemed, outcomes
    assert Redemption.objects.filter(membership=membership).count() == redeemed
    assert membership.balance == left >= 0
    assert reward.stock == (None if stock is None else stock - redeemed)
    assert sum(LedgerEntry.objects.filter(membership=membership).values_list("points", flat=True)) == left
    assert services.ledger_audit() == []
    assert len(set(Redemption.objects.values_list("voucher_code", flat=True))) == redeemed
    assert connection.vendor == "postgresql"
