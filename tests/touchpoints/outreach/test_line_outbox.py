"""LINE through the outbox, against the LINE stand-in: push, multicast, retry keys, 429, consent."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from tests.factories import MessageTemplateFactory, line_linked_customer, line_user_id
from tests.line_standin import button_uri
from touchpoints.outreach.line import client as line
from touchpoints.outreach.models import LineThrottle, LineUser, OutboundMessage, StaffTask
from touchpoints.outreach.outbox import message_enqueue, messages_send, outbox_recover

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_broker(published):
    return published


def _line_template(**kwargs):
    defaults = {
        "channel": "line",
        "purpose": "marketing",
        "line_body_ja": "新作のご案内です",
        "line_body_en": "Our new collection is here",
    }
    return MessageTemplateFactory(**{**defaults, **kwargs})


def test_a_line_message_to_one_customer_is_pushed_once_with_a_retry_key(line_standin):
    # given a customer linked to a LINE user who follows the account
    customer = line_linked_customer(1)
    # when a service message is queued on LINE and sent twice
    message = message_enqueue(
        customer=customer, key="t:1", purpose="transactional", channel="line", body="ご予約を承りました"
    )
    first = messages_send(message_ids=[message.pk])
    second = messages_send(message_ids=[message.pk])
    # then LINE got one push, the row is sent with its retry key, and it is on the timeline
    assert line_standin.texts_to(line_user_id(1)) == ["ご予約を承りました"]
    assert (first.sent, second.sent) == (1, 0)
    message.refresh_from_db()
    assert message.status == "sent" and message.retry_key == line.retry_key_for(["t:1"])
    assert message.to_address == line_user_id(1)
    assert message.touchpoint is not None and message.touchpoint.channel == "line"


def test_a_line_template_to_many_customers_goes_by_multicast(line_standin):
    customers = [line_linked_customer(n, preferred_language="ja") for n in range(1, 4)]
    template = _line_template()
    ids = [message_enqueue(customer=c, key=f"b:{c.pk}", purpose="marketing", template=template).pk for c in customers]

    report = messages_send(message_ids=ids)

    assert report.sent == 3
    assert line_standin.state.requests == 1
    assert {d.via for d in line_standin.state.deliveries} == {"multicast"}
    assert all(line_standin.texts_to(line_user_id(n)) == ["新作のご案内です"] for n in range(1, 4))


def test_a_request_retried_after_a_killed_worker_is_answered_409_and_not_sent_twice(line_standin):
    # given a multicast LINE took, whose worker died before recording it sent
    customers = [line_linked_customer(n) for n in range(1, 3)]
    template = _line_template()
    ids = [message_enqueue(customer=c, key=f"k:{c.pk}", purpose="marketing", template=template).pk for c in customers]
    messages_send(message_ids=ids)
    long_ago = timezone.now() - dt.timedelta(hours=1)
    OutboundMessage.objects.filter(pk__in=ids).update(
        status="sending", sent_at=None, claim_token=uuid.uuid4(), claimed_at=long_ago, handed_over_at=long_ago
    )
    # when the sweeper recovers the rows and one of them is sent again
    resend, counted_sent = outbox_recover()
    report = messages_send(message_ids=ids[:1])
    # then both rows went again as one request with the same retry key: 409, marked sent, nothing delivered twice
    assert (resend, counted_sent) == (2, 0)
    assert report.sent == 2
    assert line_standin.delivered_count() == 2
    assert set(OutboundMessage.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"sent"}
    assert "409" in OutboundMessage.objects.get(pk=ids[0]).last_error


def test_a_429_stops_every_sender_until_retry_after(line_standin):
    first, second = line_linked_customer(1), line_linked_customer(2)
    a = message_enqueue(customer=first, key="r:1", purpose="transactional", channel="line", body="a")
    b = message_enqueue(customer=second, key="r:2", purpose="transactional", channel="line", body="b")
    line_standin.fail_next(429, retry_after=30)

    report = messages_send(message_ids=[a.pk])
    requests_before = line_standin.state.rejected_429 + line_standin.state.requests
    later = messages_send(message_ids=[b.pk])

    assert report.released == 1 and later.released == 1
    assert line_standin.state.rejected_429 + line_standin.state.requests == requests_before  # nobody called LINE
    throttle = LineThrottle.objects.get(pk=1)
    assert throttle.blocked_until > timezone.now() + dt.timedelta(seconds=25)
    a.refresh_from_db()
    assert a.status == "queued" and a.next_attempt_at == throttle.blocked_until and a.attempts == 0
    assert line_standin.delivered_count() == 0


def test_an_unfollowed_customer_gets_nothing_on_line(line_standin):
    customer = line_linked_customer(1)
    LineUser.objects.filter(customer=customer).update(following=False, blocked=True)

    message = message_enqueue(customer=customer, key="u:1", purpose="transactional", channel="line", body="x")

    assert (message.status, message.skip_reason) == ("skipped", "line_unreachable")
    assert line_standin.delivered_count() == 0


def test_an_unfollow_between_claim_and_request_stops_the_message(line_standin):
    customers = [line_linked_customer(n) for n in range(1, 3)]
    ids = [
        message_enqueue(customer=c, key=f"x:{c.pk}", purpose="marketing", template=_line_template()).pk
        for c in customers
    ]
    # the unfollow lands after the rows were claimed: the last check reads the LINE user again
    from touchpoints.outreach.outbox import line_send

    original = line_send._requests

    def unfollow_then_group(messages, now):
        LineUser.objects.filter(customer=customers[0]).update(following=False, blocked=True)
        return original(messages, now)

    line_send._requests = unfollow_then_group
    try:
        messages_send(message_ids=ids)
    finally:
        line_send._requests = original

    assert line_standin.texts_to(line_user_id(1)) == []
    assert len(line_standin.texts_to(line_user_id(2))) == 1
    assert OutboundMessage.objects.get(pk=ids[0]).skip_reason == "line_unreachable"


def test_the_access_token_is_read_at_each_send_so_rotation_needs_no_restart(line_standin, monkeypatch):
    customer = line_linked_customer(1)
    line_standin.state.token = "rotated-token"  # noqa: S105
    monkeypatch.setenv("LINE_CHANNEL_ACCESS_TOKEN", "rotated-token")

    message = message_enqueue(customer=customer, key="rot:1", purpose="transactional", channel="line", body="hi")
    messages_send(message_ids=[message.pk])

    assert line_standin.texts_to(line_user_id(1)) == ["hi"]


def test_without_an_access_token_a_line_message_is_a_staff_task(line_standin, monkeypatch):
    monkeypatch.delenv("LINE_CHANNEL_ACCESS_TOKEN")
    customer = line_linked_customer(1)

    message = message_enqueue(customer=customer, key="st:1", purpose="transactional", channel="line", body="hi")

    assert (message.status, message.skip_reason) == ("skipped", "staff_task")
    assert StaffTask.objects.filter(message=message).exists()


def test_line_if_linked_otherwise_email(line_standin):
    linked = line_linked_customer(1, preferred_language="ja")
    by_mail = line_linked_customer(2, email="mail@example.com")
    LineUser.objects.filter(customer=by_mail).delete()
    template = _line_template(channel="email", line_first=True)

    a = message_enqueue(customer=linked, key="lf:1", purpose="marketing", template=template)
    b = message_enqueue(customer=by_mail, key="lf:2", purpose="marketing", template=template)

    assert (a.channel, a.body) == ("line", "新作のご案内です")
    assert b.channel == "email" and b.to_address == "mail@example.com"


def test_a_template_link_becomes_a_button(line_standin):
    customer = line_linked_customer(1, preferred_language="en")
    template = _line_template(line_button_url="https://shop.example/new", line_button_label_en="See more")

    message = message_enqueue(customer=customer, key="btn:1", purpose="marketing", template=template)
    messages_send(message_ids=[message.pk])

    (delivery,) = line_standin.deliveries_to(line_user_id(1))
    assert delivery.messages[0]["type"] == "flex"
    assert button_uri(delivery.messages[0]) == "https://shop.example/new"


def test_a_link_goes_as_a_flex_bubble_with_title_text_button_and_alt_text(line_standin, settings):
    # given a template with a button, sent to a linked customer
    settings.TSUNAGU_SHOP_NAME = "Kissa Tsunagu"
    customer = line_linked_customer(1, preferred_language="en")
    template = _line_template(line_button_url="https://shop.example/new", line_button_label_en="See more")
    message = message_enqueue(customer=customer, key="flex:1", purpose="marketing", template=template)
    messages_send(message_ids=[message.pk])
    # then LINE (the stand-in, which checks the Flex shape) got one bubble: the shop's name, the text, the button
    (delivery,) = line_standin.deliveries_to(line_user_id(1))
    (flex,) = delivery.messages
    texts = [c["text"] for c in flex["contents"]["body"]["contents"]]
    assert texts == ["Kissa Tsunagu", message.body]
    button = flex["contents"]["footer"]["contents"][0]["action"]
    assert button == {"type": "uri", "label": "See more", "uri": "https://shop.example/new"}
    assert flex["altText"].startswith("Kissa Tsunagu") and message.body in flex["altText"]


def test_what_a_flex_bubble_cannot_carry_goes_as_plain_text():
    from touchpoints.outreach.line.client import flex_bubble, message_objects

    # a bubble over LINE's 30 KB, or a link LINE's button refuses, is no bubble
    assert flex_bubble(title="T", text="あ" * 12_000, link_url="https://x.example/", link_label="Go") is None
    assert flex_bubble(title="T", text="hi", link_url="https://x.example/" + "a" * 1000, link_label="Go") is None
    (plain,) = message_objects("Call us", link_url="javascript:alert(1)", link_label="Go")
    assert plain.type == "text" and plain.text.endswith("javascript:alert(1)")
    # a long label is cut to LINE's 40 characters; a long text is cut in the alt text to 1,500
    flex = flex_bubble(title="T", text="x" * 3000, link_url="https://x.example/", link_label="L" * 60)
    assert len(flex["contents"]["footer"]["contents"][0]["action"]["label"]) == 40
    assert len(flex["altText"]) == 1500


def test_the_stand_in_refuses_a_flex_message_line_would_refuse(line_standin):
    from linebot.v3.messaging import FlexMessage

    from touchpoints.outreach.line import client as line

    bad = FlexMessage.from_dict(
        {
            "type": "flex",
            "altText": "x",
            "contents": {
                "type": "bubble",
                "footer": {
                    "type": "box",
                    "layout": "vertical",
                    "contents": [{"type": "button", "action": {"type": "uri", "label": "L" * 41, "uri": "https://x"}}],
                },
            },
        }
    )
    with line.Client() as api, pytest.raises(line.LineError) as refused:
        api.push(line_user_id(1), [bad], retry_key=line.retry_key_for(["bad-flex"]))
    assert refused.value.status == 400 and "label" in refused.value.message
