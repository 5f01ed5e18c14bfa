from __future__ import annotations

import datetime as dt
import re

import pytest
from django.conf import settings
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

    monkeypatch.setattr("touchpoints.outreach.outbox.publishing.publish", fake_publish)
    return ids


@pytest.fixture
def outbox(db):
    """The outbox rows feedback wrote, oldest first."""
    from touchpoints.outreach.models import OutboundMessage

    return lambda: list(OutboundMessage.objects.filter(source_app="feedback").order_by("id"))


def survey_in(body: str):
    """The survey whose signed link ``body`` carries. The link holds its signing time, so a test cannot compare it
    with a link signed a second later; it reads the one in the body and checks that it opens the survey."""
    from feedback import services

    match = re.search(re.escape(settings.TSUNAGU_BASE_URL) + r"/feedback/s/([^/\s]+)/", body)
    assert match, "no survey link in the message"
    return services.survey_from_token(match.group(1))
