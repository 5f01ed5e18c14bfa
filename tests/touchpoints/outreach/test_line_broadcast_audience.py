"""A LINE broadcast's confirmation counts LINE's rules, not email's: who is not linked, blocked or not following,
or said no to LINE news, is left out with the reason; "LINE if linked, otherwise email" counts both channels."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from customers.consent import preferences_set
from customers.models import Segment
from tests.factories import CustomerFactory, MessageTemplateFactory, consenting_customer, line_linked_customer
from touchpoints.outreach import broadcasts, outbox
from touchpoints.outreach.models import LineUser, OutboundMessage

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_quiet_hours(settings):
    settings.TSUNAGU_QUIET_HOURS = ""


@pytest.fixture
def everyone():
    return Segment.objects.create(name="Everyone", rules={})


@pytest.fixture
def crowd(line_standin):
    """Two reachable on LINE; one linked but blocked, one linked not following, one not linked (with an address),
    one not linked without an address, one who said no to LINE news, one without marketing consent."""
    line_linked_customer(1, email="")
    line_linked_customer(2)
    blocked = line_linked_customer(3)
    LineUser.objects.filter(customer=blocked).update(following=False, blocked=True)
    line_linked_customer(4, following=False)
    consenting_customer(email="mail@example.com")
    consenting_customer(email="")
    refused = line_linked_customer(5)
    preferences_set(customer=refused, choices={("line", "news"): False}, source="preference_centre", evidence="test")
    CustomerFactory(email="no@example.com", marketing_consent=False)


def _template(**kwargs):
    defaults = {"channel": "line", "purpose": "marketing", "line_body_ja": "新作", "line_body_en": "New"}
    return MessageTemplateFactory(**{**defaults, **kwargs})


def test_a_line_broadcast_counts_who_line_cannot_reach(everyone, crowd):
    audience = broadcasts.broadcast_audience(segment=everyone, template=_template())
    assert (audience.total, audience.recipients, audience.by_line) == (8, 2, 2)
    assert audience.excluded == {
        "do_not_contact": 0,
        "opted_out": 1,  # said no to LINE news
        "no_consent": 1,
        "no_address": 0,  # LINE needs no address
        "line_unreachable": 4,  # blocked, not following, two not linked
        "capped": 0,
    }


def test_line_if_linked_otherwise_email_counts_both_channels(everyone, crowd):
    template = _template(channel="email", line_first=True)
    audience = broadcasts.broadcast_audience(segment=everyone, template=template)
    # LINE: the two reachable; email: the blocked, the one not following, the unlinked with an address
    assert (audience.recipients, audience.by_line, audience.by_email) == (5, 2, 3)
    assert audience.excluded["no_address"] == 1 and audience.excluded["opted_out"] == 1


def test_the_counts_are_what_the_outbox_then_does(everyone, crowd):
    # given the confirmed counts of a "LINE if linked" template
    template = _template(channel="email", line_first=True)
    audience = broadcasts.broadcast_audience(segment=everyone, template=template)
    # when every customer gets it through the outbox
    from customers.models import Customer

    for customer in Customer.objects.all():
        outbox.message_enqueue(customer=customer, key=f"a:{customer.pk}", purpose="marketing", template=template)
    # then the queued rows per channel are the counts
    queued = OutboundMessage.objects.filter(status=OutboundMessage.Status.QUEUED)
    assert queued.filter(channel="line").count() == audience.by_line
    assert queued.filter(channel="email").count() == audience.by_email


def test_the_confirmation_page_shows_both_channels(admin_client, everyone, crowd):
    template = _template(channel="email", line_first=True, name="Spring")
    answer = admin_client.post(
        reverse("outreach:broadcast_create"),
        {"name": "Spring", "template": template.pk, "segment": everyone.pk, "action": "review"},
    )
    assert answer.status_code == 200
    assert b'id="audience-channels"' in answer.content


def test_sending_fails_when_the_line_audience_moved(everyone, crowd):
    template = _template()
    audience = broadcasts.broadcast_audience(segment=everyone, template=template)
    LineUser.objects.filter(blocked=False, following=True).update(blocked=True, following=False)
    with pytest.raises(ValidationError):
        broadcasts.broadcast_create(
            name="x", template=template, segment=everyone, by=None, expected_recipients=audience.recipients
        )
