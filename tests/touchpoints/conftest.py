from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone


def local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    """An aware datetime at ``hour:minute`` on ``day`` in the business time zone."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


@pytest.fixture
def noon() -> dt.datetime:
    """Noon (business time zone) of the previous day: outside quiet hours, and never in the future."""
    return local(timezone.localdate() - dt.timedelta(days=1), 12)


@pytest.fixture
def published(monkeypatch):
    """The ids handed to the broker (the broker is outside these tests; the worker tests use a real one).
    Broadcast preparation tasks are not published either: the tests call ``broadcast_prepare`` themselves."""
    ids: list[int] = []

    def fake_publish(message_ids):
        ids.extend(message_ids)
        return len(message_ids)

    monkeypatch.setattr("touchpoints.outreach.outbox.publishing.publish", fake_publish)
    monkeypatch.setattr("touchpoints.outreach.broadcasts._publish_prepare", lambda broadcast_id: None)
    return ids
