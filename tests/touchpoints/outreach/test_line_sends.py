"""A broadcast's and a template's LINE sends on the outreach pages: each with its delivery state (sent, failed and
why, skipped and why), a keyset page at a time, linked from the broadcast and the template list."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from customers.models import Segment
from tests.factories import MessageTemplateFactory, consenting_customer, line_linked_customer
from touchpoints.outreach import outbox
from touchpoints.outreach.models import Broadcast, OutboundMessage

pytestmark = pytest.mark.django_db

Status, Skip = OutboundMessage.Status, OutboundMessage.SkipReason


@pytest.fixture
def sends(line_standin, published):
    """A LINE broadcast's three sends (sent, failed, skipped) and an email send of another template."""
    template = MessageTemplateFactory(channel="line", purpose="marketing", line_body_ja="新作", line_body_en="New")
    segment = Segment.objects.create(name="All", rules={})
    broadcast = Broadcast.objects.create(name="Spring", template=template, segment=segment, send_at=timezone.now())
    rows = []
    for n in range(1, 4):
        customer = line_linked_customer(n, given_name=f"Line{n}")
        rows.append(outbox.message_enqueue(customer=customer, key=f"b:{n}", purpose="marketing", template=template))
    OutboundMessage.objects.filter(pk__in=[r.pk for r in rows]).update(broadcast=broadcast)
    sent, failed, skipped = rows
    OutboundMessage.objects.filter(pk=sent.pk).update(status=Status.SENT, sent_at=timezone.now())
    OutboundMessage.objects.filter(pk=failed.pk).update(status=Status.FAILED, last_error="LINE 400: Invalid uri")
    OutboundMessage.objects.filter(pk=skipped.pk).update(status=Status.SKIPPED, skip_reason=Skip.LINE_UNREACHABLE)
    mail = MessageTemplateFactory(channel="email", purpose="marketing")
    outbox.message_enqueue(
        customer=consenting_customer(email="m@example.com"), key="m", purpose="marketing", template=mail
    )
    return broadcast, template


def test_a_broadcasts_line_sends_show_their_state_and_why(manager_client, sends):
    broadcast, _template = sends
    # the broadcast's page links to its LINE sends
    detail = manager_client.get(f"/touchpoints/outreach/broadcasts/{broadcast.pk}/")
    link = re.search(rb'href="([^"]+)" id="broadcast-line-sends"', detail.content).group(1).decode()
    page = manager_client.get(link.replace("&amp;", "&"))
    assert page.status_code == 200
    text = page.content.decode()
    assert text.count("<tr>") == 4  # the header and the three LINE sends, not the email
    assert "Invalid uri" in text  # a failure says why
    assert str(Skip.LINE_UNREACHABLE.label) in text  # a skip says why


def test_a_templates_line_sends_are_listed_a_page_at_a_time(manager_client, sends, settings):
    _broadcast, template = sends
    settings.TSUNAGU_PAGE_SIZE = 2
    listing = manager_client.get("/touchpoints/outreach/templates/")
    assert f'id="template-{template.pk}-line-sends"'.encode() in listing.content
    first = manager_client.get(f"/touchpoints/outreach/outbox/?template={template.pk}&channel=line")
    after = re.search(r"after=([\w-]+)", first.content.decode()).group(1)
    second = manager_client.get(f"/touchpoints/outreach/outbox/?template={template.pk}&channel=line&after={after}")
    names = lambda r: set(re.findall(r"Line\d", r.content.decode()))  # noqa: E731
    assert len(names(first)) == 2 and len(names(second)) == 1 and not names(first) & names(second)


def test_the_sends_page_reads_in_a_few_queries(manager_client, sends, django_assert_max_num_queries):
    _broadcast, template = sends
    with django_assert_max_num_queries(12):
        manager_client.get(f"/touchpoints/outreach/outbox/?template={template.pk}&channel=line")


def test_a_bad_filter_is_ignored_not_a_500(manager_client, sends):
    for query in ("channel=fax", "template=abc", "template=-1&channel=line", "broadcast=1e9"):
        assert manager_client.get(f"/touchpoints/outreach/outbox/?{query}").status_code == 200
