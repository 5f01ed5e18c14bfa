"""The embedded default (SQLite) under several users at once: writers wait their turn instead of failing.

SQLite allows one writer at a time. A transaction that reads first and writes later (every service here) takes
its write lock only at the first write; when another writer holds it, SQLite cannot wait (the reader's snapshot
would be stale) and fails at once with "database is locked", a 500. Opened with ``BEGIN IMMEDIATE`` and a busy
timeout, each transaction takes the write lock up front and waits for it.
"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.test_embedded_default import ROOT, clean_environment, manage, succeeded

RESULTS_MARK = "CONCURRENCY RESULTS "

SCRIPT = f"""
import json
import threading

from django.core.exceptions import ValidationError
from django.db import OperationalError, connection

from loyalty import services
from tests.factories import CustomerFactory, ProgrammeFactory, RewardFactory, member_join

programme = ProgrammeFactory()
membership = member_join(CustomerFactory(), programme)
services.points_adjust(membership=membership, points=450, reason="opening balance", key="opening")
reward = RewardFactory(programme=programme, points_cost=100)

outcomes = []
start = threading.Barrier(10)


def redeem(i):
    start.wait()
    try:
        services.points_redeem(membership=membership, reward=reward, key=f"redeem-{{i}}")
        outcomes.append("redeemed")
    except ValidationError:
        outcomes.append("refused")  # the balance ran out: a clear answer, not an error
    except OperationalError as exc:
        outcomes.append(f"error: {{exc}}")
    finally:
        connection.close()


def create(i):
    start.wait()
    try:
        CustomerFactory(family_name=f"Concurrent {{i}}")
        outcomes.append("created")
    except OperationalError as exc:
        outcomes.append(f"error: {{exc}}")
    finally:
        connection.close()


for target in (redeem, create):
    threads = [threading.Thread(target=target, args=(i,)) for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

membership.refresh_from_db()
print("{RESULTS_MARK}" + json.dumps({{"outcomes": sorted(outcomes), "balance": membership.balance}}))
"""


def test_simultaneous_writes_on_the_embedded_default_wait_instead_of_failing(tmp_path):
    # given: a fresh embedded default (SQLite under var/)
    env = clean_environment(DJANGO_DEBUG="true", TSUNAGU_VAR_DIR=str(tmp_path / "var"))
    assert succeeded(manage(env, "migrate", "--noinput"))

    # when: ten staff redeem a reward for one member at the same instant, then ten create customers at once
    result = subprocess.run(  # noqa: S603 - our own manage.py
        [sys.executable, "manage.py", "shell", "-v", "0", "-c", SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert succeeded(result)
    line = next(line for line in result.stdout.splitlines() if line.startswith(RESULTS_MARK))
    results = json.loads(line.removeprefix(RESULTS_MARK))

    # then: every write waited its turn: four redemptions fit the 450 points, six are refused, ten customers exist
    assert results["outcomes"] == ["created"] * 10 + ["redeemed"] * 4 + ["refused"] * 6
    assert results["balance"] == 50
