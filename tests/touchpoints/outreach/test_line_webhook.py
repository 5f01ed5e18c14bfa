"""LINE's webhook: signature first, events stored once, follow/unfollow/message/accountLink worked through."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import MessageTemplateFactory, consenting_customer, line_linked_customer, line_user_id
from tests.line_standin import button_uri, sign
from touchpoints.outreach.line.events import line_events_process, line_user_link
from touchpoints.outreach.models import LineUser, LineWebhookEvent, OutboundMessage
from touchpoints.outreach.outbox import message_enqueue

pytestmark = pytest.mark.django_db

URL = "/line/webhook/"


@pytest.fixture(autouse=True)
def _no_broker(published, monkeypatch):
    monkeypatch.setattr("touchpoints.outreach.line.webhook._publish", lambda ids: None)


def _post(client, body: bytes, signature: str):
    return client.post(URL, data=body, content_type="application/json", headers={"x-line-signature": signature})


def test_the_webhook_url_is_line_webhook():
    assert reverse("line:webhook") == URL


def test_a_forged_webhook_is_refused_and_nothing_is_stored(client, line_standin):
    body, _signature = line_standin.signed([line_standin.follow(line_user_id(1))])

    forged = _post(client, body, sign(body, "another-secret"))
    unsigned = client.post(URL, data=body, content_type="application/json")
    tampered = _post(client, body.replace(b"follow", b"unfollow", 1), sign(body))

    assert (forged.status_code, unsigned.status_code, tampered.status_code) == (400, 400, 400)
    assert not LineWebhookEvent.objects.exists()


def test_a_bad_body_with_a_good_signature_is_a_clear_400(client, line_standin):
    for body in (b"not json", b'{"events": 3}', b"\xff\xfe"):
        assert _post(client, body, sign(body)).status_code == 400


def test_the_webhook_stores_a_delivery_in_one_statement(client, line_standin, django_assert_num_queries):
    # given a delivery of five events (LINE batches them)
    body, signature = line_standin.signed([line_standin.text(line_user_id(n), "こんにちは") for n in range(5)])
    # when it is posted, then the webhook's whole database work is one INSERT (no transaction block, no reads)
    with django_assert_num_queries(1):
        assert _post(client, body, signature).status_code == 200
    assert LineWebhookEvent.objects.count() == 5


def test_a_replayed_webhook_stores_and_does_nothing_twice(client, line_standin):
    # given a follow delivered, then the same body delivered again (a replay, or LINE's redelivery)
    body, signature = line_standin.signed([line_standin.follow(line_user_id(1))])
    assert _post(client, body, signature).status_code == 200
    assert line_events_process() == 1
    # when it comes again
    again = _post(client, body, signature)
    # then it is answered, stored once, and nothing is processed again
    assert again.status_code == 200
    assert LineWebhookEvent.objects.count() == 1
    assert line_events_process() == 0


def test_follow_records_consent_with_its_proof_and_invites_an_unlinked_user_to_link(
    client, line_standin, django_capture_on_commit_callbacks
):
    follow = line_standin.follow(line_user_id(1))
    body, signature = line_standin.signed([follow])

    _post(client, body, signature)
    with django_capture_on_commit_callbacks(execute=True):
        line_events_process()

    user = LineUser.objects.get(user_id=line_user_id(1))
    assert user.following and not user.blocked
    assert user.follow_event_id == follow["webhookEventId"] and user.followed_at is not None
    assert user.customer is None
    # the invitation to link: a push with a button to Tsunagu's link page
    (invite,) = line_standin.deliveries_to(line_user_id(1))
    assert "/line/link/?linkToken=" in button_uri(invite.messages[0])


def test_unfollow_withdraws_consent_and_stops_queued_line_messages(client, line_standin):
    # given a linked customer with a broadcast message queued on LINE
    customer = line_linked_customer(1)
    template = MessageTemplateFactory(channel="line", line_body_ja="セール", line_body_en="Sale")
    queued = message_enqueue(customer=customer, key="bc:1", purpose="marketing", template=template)
    assert queued.status == "queued"
    # when the customer blocks the account
    body, signature = line_standin.signed([line_standin.unfollow(line_user_id(1))])
    _post(client, body, signature)
    line_events_process()
    # then consent is gone and the message is skipped, never sent
    user = LineUser.objects.get(customer=customer)
    assert user.blocked and not user.following and user.unfollowed_at is not None
    queued.refresh_from_db()
    assert (queued.status, queued.skip_reason) == ("skipped", "line_unreachable")
    assert line_standin.delivered_count() == 0


def test_a_message_from_an_unlinked_user_is_kept_for_staff_to_link(client, line_standin):
    body, signature = line_standin.signed([line_standin.text(line_user_id(7), "在庫はありますか？")])
    _post(client, body, signature)
    line_events_process()

    contact = LineUser.objects.get(user_id=line_user_id(7))
    assert contact.customer is None and contact.last_message_text == "在庫はありますか？"
    # staff link the contact by hand
    customer = consenting_customer()
    line_user_link(line_user=contact, customer=customer)
    contact.refresh_from_db()
    assert contact.customer == customer and contact.linked_at is not None


def test_an_account_link_event_with_an_unknown_nonce_links_nobody(client, line_standin):
    body, signature = line_standin.signed([line_standin.account_link(line_user_id(1), "made-up-nonce")])
    _post(client, body, signature)
    line_events_process()

    assert not LineUser.objects.filter(customer__isnull=False).exists()
    assert not OutboundMessage.objects.exists()
