"""LINE on the staff pages: the customer page's panel, the segment condition, unlinked contacts, the quota."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from customers.models import Customer, Segment
from tests.factories import MessageTemplateFactory, consenting_customer, line_linked_customer, line_user_id
from touchpoints.outreach.broadcasts import broadcast_create
from touchpoints.outreach.models import LineUser

pytestmark = pytest.mark.django_db


def test_the_customer_page_shows_the_line_link_and_its_date(manager_client, line_standin):
    customer = line_linked_customer(1)

    page = manager_client.get(f"/customers/{customer.pk}/")

    assert page.status_code == 200
    assert b'id="line-panel"' in page.content
    linked_at = timezone.localtime(LineUser.objects.get(customer=customer).linked_at)
    assert linked_at.strftime("%Y-%m-%d %H:%M").encode() in page.content


def test_staff_unlink_from_the_customer_page(manager_client, line_standin):
    customer = line_linked_customer(1)
    user = LineUser.objects.get(customer=customer)

    answer = manager_client.post(f"/touchpoints/outreach/line/{user.pk}/unlink/")

    assert answer.status_code == 302
    user.refresh_from_db()
    assert user.customer is None


def test_marketing_may_not_unlink(marketing_client, line_standin):
    user = LineUser.objects.get(customer=line_linked_customer(1))
    assert marketing_client.post(f"/touchpoints/outreach/line/{user.pk}/unlink/").status_code == 403


def test_segments_by_line_status(line_standin):
    linked = line_linked_customer(1)
    blocked = line_linked_customer(2)
    LineUser.objects.filter(customer=blocked).update(following=False, blocked=True)
    nobody = consenting_customer()

    def members(value):
        segment = Segment.objects.create(name=value, rules={"line": value})
        return set(Customer.objects.in_segment(segment).values_list("pk", flat=True))

    assert members("reachable") == {linked.pk}
    assert members("blocked") == {blocked.pk}
    assert members("not_linked") == {nobody.pk}


def test_staff_link_an_unlinked_contact_by_hand(manager_client, line_standin):
    contact = LineUser.objects.create(provider="provider-1", user_id=line_user_id(9), last_message_text="こんにちは")
    customer = consenting_customer()

    listing = manager_client.get("/touchpoints/outreach/line/contacts/")
    answer = manager_client.post(f"/touchpoints/outreach/line/contacts/{contact.pk}/link/", {"customer": customer.pk})
    unknown = manager_client.post(f"/touchpoints/outreach/line/contacts/{contact.pk}/link/", {"customer": 999999})

    assert "こんにちは" in listing.content.decode()
    assert answer.status_code == 302
    contact.refresh_from_db()
    assert contact.customer == customer
    assert unknown.status_code == 404  # linked now: no longer an unlinked contact


def test_a_line_broadcast_over_the_months_quota_is_refused_with_a_clear_message(line_standin, manager):
    line_standin.state.quota = 2
    for n in range(1, 4):
        line_linked_customer(n)
    segment = Segment.objects.create(name="LINE", rules={"line": "reachable"})
    template = MessageTemplateFactory(channel="line", line_body_ja="セール", line_body_en="Sale")

    with pytest.raises(ValidationError) as refused:
        broadcast_create(name="Sale", template=template, segment=segment, by=manager)

    assert "needs 3 LINE messages but only 2 are left" in str(refused.value)


def test_the_broadcast_form_shows_the_line_quota(manager_client, line_standin):
    page = manager_client.get("/touchpoints/outreach/broadcasts/new/")
    assert b'id="line-quota"' in page.content and b"1000" in page.content


def test_a_line_broadcast_reaches_following_customers_and_skips_the_others(line_standin, manager, published):
    from touchpoints.outreach.broadcasts import broadcast_prepare
    from touchpoints.outreach.models import OutboundMessage
    from touchpoints.outreach.outbox import messages_send

    following = [line_linked_customer(n) for n in range(1, 4)]
    blocked = line_linked_customer(4)
    LineUser.objects.filter(customer=blocked).update(following=False, blocked=True)
    segment = Segment.objects.create(name="LINE", rules={"line": "linked"})
    template = MessageTemplateFactory(channel="line", line_body_ja="セール", line_body_en="Sale")

    broadcast = broadcast_create(name="Sale", template=template, segment=segment, by=manager)
    broadcast_prepare(broadcast_id=broadcast.pk)
    messages_send(message_ids=list(OutboundMessage.objects.filter(broadcast=broadcast).values_list("pk", flat=True)))

    assert all(len(line_standin.texts_to(line_user_id(n))) == 1 for n in range(1, 4))
    assert line_standin.texts_to(line_user_id(4)) == []
    assert OutboundMessage.objects.get(broadcast=broadcast, customer=blocked).skip_reason == "line_unreachable"
    assert len(following) == OutboundMessage.objects.filter(broadcast=broadcast, status="sent").count()
