from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone


def local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    """An aware datetime at ``hour:minute`` on ``day`` in the business time zone."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


@pytest.fixture(autouse=True)
def published(monkeypatch):
    """Outbox ids handed to the broker: the broker is outside these tests (the outreach tests cover sending)."""
    ids: list[int] = []

    def fake_publish(message_ids):
        ids.extend(message_ids)
        return len(message_ids)

    monkeypatch.setattr("touchpoints.outbox.publish", fake_publish)
    return ids


@pytest.fixture
def outbox(db):
    """The outbox rows feedback wrote, oldest first."""
    from touchpoints.models import OutboundMessage

    return lambda: list(OutboundMessage.objects.filter(source_app="feedback").order_by("id"))
