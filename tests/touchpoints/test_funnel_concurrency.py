"""The funnel's journal under real concurrency (separate connections, real locks): two large batches sharing
their customers, and a fold that runs while one of them is open, count every stage change once."""

import datetime as dt
import threading

import pytest
from django.db import connection, transaction
from django.utils import timezone

from tests.factories import CustomerFactory, TouchpointTypeFactory
from tests.touchpoints.test_funnel import _rollups
from touchpoints.funnel import DAY, JOURNAL_FROM, MONTH, funnel_fold, funnel_rebuild
from touchpoints.models import FunnelJournal, StageTransition
from touchpoints.services import TouchpointData, touchpoint_record_batch

pytestmark = pytest.mark.django_db(transaction=True)


def test_batches_sharing_customers_and_a_fold_in_between_count_each_stage_change_once():
    # given: more customers than JOURNAL_FROM, so that each batch only notes its stage changes in the journal
    research = TouchpointTypeFactory(slug="research", stage="consideration")
    purchase = TouchpointTypeFactory(slug="transaction", stage="decision")
    customers = [CustomerFactory(source="web" if i % 2 else "store") for i in range(JOURNAL_FROM + 5)]
    now = timezone.now().replace(microsecond=0)
    written, release = threading.Event(), threading.Event()
    failures: list[Exception] = []

    def batch(touchpoint_type, at: dt.datetime, *, hold: bool = False) -> None:
        try:
            with transaction.atomic():
                items = [
                    TouchpointData(customer_id=c.pk, touchpoint_type=touchpoint_type, channel="web", occurred_at=at)
                    for c in customers
                ]
                touchpoint_record_batch(items=items)
                if hold:  # stay open, the customers locked, while the others try
                    written.set()
                    release.wait(timeout=20)
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(exc)
        finally:
            connection.close()

    # when: a first batch is written but not committed; a second for the same customers waits on their locks;
    # the fold job runs meanwhile (and sees neither); then both commit
    first = threading.Thread(target=batch, args=(research, now - dt.timedelta(hours=5)), kwargs={"hold": True})
    first.start()
    assert written.wait(timeout=20)
    second = threading.Thread(target=batch, args=(purchase, now))
    second.start()
    funnel_fold()
    release.set()
    first.join(timeout=30)
    second.join(timeout=30)

    # then: both were recorded, the second closing the stays the first opened, all of it in the journal
    assert failures == []
    assert StageTransition.objects.count() == 2 * len(customers)
    assert FunnelJournal.objects.filter(closed=False).count() == 2 * len(customers)
    assert FunnelJournal.objects.filter(closed=True).count() == len(customers)
    # and the next fold counts each stage change once: the rollups equal a rebuild from the transitions
    funnel_fold()
    assert not FunnelJournal.objects.exists()
    folded = _rollups()
    funnel_rebuild()
    assert _rollups() == folded
    # (pending, kind, key, stage, day_grain, day, next_grain, next_day): every customer reached decision, once
    decision = [n for k, n in folded[0].items() if k[1] == "source" and k[3] == 2 and k[4] == DAY and k[6] == MONTH]
    assert sum(decision) == len(customers)
