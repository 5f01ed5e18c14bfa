"""Broadcasts: prepared in chunks (resumable, once per customer), skipped customers counted, cancelled,
closed with final counts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from customers.models import Segment
from tests.factories import CustomerFactory, MessageTemplateFactory, consenting_customer
from touchpoints.outreach import broadcasts, outbox
from touchpoints.outreach.models import Broadcast, OutboundMessage

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_quiet_hours(settings):
    settings.TSUNAGU_QUIET_HOURS = ""


@pytest.fixture
def segment():
    return Segment.objects.create(name="English speakers", rules={"language": "en"})


@pytest.fixture
def audience():
    consenting = [consenting_customer(email=f"yes{i}@example.com") for i in range(5)]
    CustomerFactory(email="no@example.com", marketing_consent=False)
    CustomerFactory(email="ja@example.com", preferred_language="ja", marketing_consent=True)  # outside
    return consenting


def test_broadcast_prepare_writes_one_message_per_customer_and_counts_the_skipped(
    segment, audience, published, marketing, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        broadcast = broadcasts.broadcast_create(
            name="Spring sale", template=MessageTemplateFactory(), segment=segment, by=marketing
        )
    with django_capture_on_commit_callbacks(execute=True):
        prepared = broadcasts.broadcast_prepare(broadcast_id=broadcast.pk, chunk=2)
    again = broadcasts.broadcast_prepare(broadcast_id=broadcast.pk, chunk=2)

    broadcast.refresh_from_db()
    counts = broadcasts.broadcast_counts(broadcast)
    assert (prepared, again) == (6, 0)
    assert broadcast.status == Broadcast.Status.SENDING and broadcast.total == 6 and broadcast.prepared_count == 6
    assert counts["queued"] == 5 and counts["skipped"] == 1
    assert sorted(published) == sorted(OutboundMessage.objects.filter(status="queued").values_list("pk", flat=True))
    assert (
        OutboundMessage.objects.filter(broadcast=broadcast, key__startswith=f"broadcast:{broadcast.pk}:").count() == 6
    )


def test_a_stalled_preparation_resumes_from_its_cursor(segment, audience, published, marketing):
    broadcast = broadcasts.broadcast_create(
        name="News", template=MessageTemplateFactory(), segment=segment, by=marketing
    )
    now = timezone.now()
    broadcasts.broadcast_prepare(broadcast_id=broadcast.pk, chunk=2, now=now)
    # Simulate a worker that died after two customers: back to preparing, cursor on the second customer.
    second = sorted(c.pk for c in segment.customers())[1]
    OutboundMessage.objects.filter(broadcast=broadcast, customer_id__gt=second).delete()
    Broadcast.objects.filter(pk=broadcast.pk).update(
        status="preparing", cursor=second, prepared_count=2, heartbeat_at=now - dt.timedelta(minutes=5)
    )

    assert broadcasts.broadcast_prepare(broadcast_id=broadcast.pk, chunk=2, now=now) == 4
    assert OutboundMessage.objects.filter(broadcast=broadcast).count() == 6


def test_a_live_preparation_is_not_taken_over(segment, audience, published, marketing):
    broadcast = broadcasts.broadcast_create(
        name="News", template=MessageTemplateFactory(), segment=segment, by=marketing
    )
    Broadcast.objects.filter(pk=broadcast.pk).update(status="preparing", heartbeat_at=timezone.now())
    assert broadcasts.broadcast_prepare(broadcast_id=broadcast.pk) == 0


def test_a_scheduled_broadcast_waits_for_its_time(segment, audience, published, marketing):
    later = timezone.now() + dt.timedelta(hours=2)
    broadcast = broadcasts.broadcast_create(
        name="Tomorrow", template=MessageTemplateFactory(), segment=segment, send_at=later, by=marketing
    )
    assert broadcasts.broadcast_prepare(broadcast_id=broadcast.pk) == 0
    assert broadcasts.broadcasts_advance()["started"] == 0
    assert broadcasts.broadcast_prepare(broadcast_id=broadcast.pk, now=later) == 6


def test_cancel_skips_what_is_still_queued(segment, audience, published, marketing):
    broadcast = broadcasts.broadcast_create(
        name="Oops", template=MessageTemplateFactory(), segment=segment, by=marketing
    )
    broadcasts.broadcast_prepare(broadcast_id=broadcast.pk)

    stopped = broadcasts.broadcast_cancel(broadcast=broadcast, by=marketing)

    broadcast.refresh_from_db()
    assert stopped == 5 and broadcast.status == Broadcast.Status.CANCELLED
    assert broadcast.counts["skipped"] == 6
    with pytest.raises(ValidationError):
        broadcasts.broadcast_cancel(broadcast=broadcast, by=marketing)


def test_a_finished_broadcast_is_closed_with_its_final_counts(segment, audience, published, marketing):
    broadcast = broadcasts.broadcast_create(
        name="News", template=MessageTemplateFactory(), segment=segment, by=marketing
    )
    broadcasts.broadcast_prepare(broadcast_id=broadcast.pk)
    assert broadcasts.broadcasts_advance()["finished"] == 0  # still sending
    ids = list(OutboundMessage.objects.filter(status="queued").values_list("pk", flat=True))
    outbox.messages_send(message_ids=ids)

    assert broadcasts.broadcasts_advance()["finished"] == 1
    assert broadcasts.broadcasts_advance()["finished"] == 0
    broadcast.refresh_from_db()
    assert broadcast.status == Broadcast.Status.DONE
    assert (broadcast.counts["sent"], broadcast.counts["skipped"], broadcast.counts["failed"]) == (5, 1, 0)


def test_broadcasts_refuse_templates_of_other_channels(segment, marketing):
    with pytest.raises(ValidationError):
        broadcasts.broadcast_create(
            name="SMS", template=MessageTemplateFactory(channel="sms"), segment=segment, by=marketing
        )


def test_the_broadcast_cap_skips_recently_mailed_customers(segment, audience, published, marketing):
    outbox.message_enqueue(customer=audience[0], key="recent", purpose="marketing", body="x {unsubscribe_url}")
    broadcast = broadcasts.broadcast_create(
        name="Capped", template=MessageTemplateFactory(), segment=segment, cap_days=7, by=marketing
    )
    broadcasts.broadcast_prepare(broadcast_id=broadcast.pk)
    message = OutboundMessage.objects.get(broadcast=broadcast, customer=audience[0])
    assert message.skip_reason == "capped"


def test_deleting_a_segment_switches_its_rules_off_and_keeps_its_broadcasts(segment, marketing):
    from tests.factories import FollowUpRuleFactory
    from touchpoints.outreach.models import FollowUpRule

    rule = FollowUpRuleFactory(condition_segment=segment)
    broadcast = broadcasts.broadcast_create(
        name="Kept", template=MessageTemplateFactory(), segment=segment, by=marketing
    )
    segment.delete()

    rule = FollowUpRule.objects.get(pk=rule.pk)  # never broadened to every customer
    broadcast.refresh_from_db()
    assert rule.condition_segment is None and rule.is_active is False
    assert broadcast.segment is None
    assert broadcasts.broadcast_prepare(broadcast_id=broadcast.pk) == 0


@pytest.mark.parametrize(
    ("send_at", "message"),
    [
        (timezone.now() - dt.timedelta(days=1), "Choose a time in the future"),
        (timezone.now() + dt.timedelta(days=400), "Choose a time within a year."),  # year 9999 overflowed the queue
    ],
)
def test_a_broadcast_is_sent_now_or_within_a_year(send_at, message):
    from touchpoints.outreach.forms import BroadcastForm

    form = BroadcastForm({"send_at": timezone.localtime(send_at).strftime("%Y-%m-%dT%H:%M")})
    assert not form.is_valid() and message in " ".join(form.errors["send_at"])
