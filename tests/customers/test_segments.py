import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from customers import services
from customers.models import Customer, CustomerActivity, Segment
from tests.factories import CustomerFactory, TagFactory

pytestmark = pytest.mark.django_db


def test_segment_matches_every_condition_and_counts_each_customer_once(marketing):
    # given: a VIP in Tokyo who is quiet, a VIP who is active, and a customer with two matching tags
    vip, regular = TagFactory(name="VIP"), TagFactory(name="Regular")
    quiet_vip = CustomerFactory(source=Customer.Source.STORE, birth_date=dt.date(1990, 3, 4))
    quiet_vip.tags.add(vip, regular)
    CustomerActivity.objects.filter(customer_id=quiet_vip.pk).update(
        last_activity_at=timezone.now() - dt.timedelta(days=200)
    )
    active_vip = CustomerFactory(source=Customer.Source.STORE)
    active_vip.tags.add(vip)
    CustomerFactory(source=Customer.Source.WEB)

    # when: a segment asks for VIP or Regular, from the store, quiet for 90 days, born in March
    segment = services.segment_save(
        name="Quiet store VIPs",
        rules={"tags": [vip.pk, regular.pk], "source": ["store"], "inactive_for_days": 90, "birthday_month": 3},
        by=marketing,
    )

    # then: only the quiet VIP, once, although two of her tags match
    assert list(segment.customers()) == [quiet_vip]


def test_segment_names_are_unique_ignoring_case(marketing):
    services.segment_save(name="VIPs", rules={}, by=marketing)
    with pytest.raises(Exception, match="already exists"):
        services.segment_save(name="vips", rules={}, by=marketing)


def test_a_condition_that_cannot_be_read_counts_nobody_not_everyone(marketing_client):
    CustomerFactory.create_batch(3)
    preview = marketing_client.post(reverse("customers:segment_preview"), {"rule_spend_at_least": "1e400"})
    body = preview.content.decode()
    assert preview.status_code == 200 and "correct the conditions" in body and ">3<" not in body


def test_segment_builder_saves_rules_and_the_list_shows_its_customers(marketing_client):
    # given
    vip = TagFactory(name="VIP")
    member = CustomerFactory(family_name="Member")
    member.tags.add(vip)
    CustomerFactory(family_name="Outsider")

    # when: the live count is asked for, then the segment is saved
    preview = marketing_client.post(reverse("customers:segment_preview"), {"rule_tags": [vip.pk]})
    response = marketing_client.post(
        reverse("customers:segment_create"), {"name": "VIP customers", "description": "", "rule_tags": [vip.pk]}
    )

    # then
    assert preview.status_code == 200 and ">1<" in preview.content.decode()
    segment = Segment.objects.get(name="VIP customers")
    assert segment.rules == {"tags": [vip.pk]}
    assert response.status_code == 302
    listing = marketing_client.get(response["Location"]).content.decode()
    assert "Member" in listing and "Outsider" not in listing


def test_support_can_use_segments_but_not_build_them(support_client):
    segment = Segment.objects.create(name="Everyone", rules={})
    assert support_client.get(reverse("customers:segments")).status_code == 200
    assert support_client.get(reverse("customers:segment_count", args=[segment.pk])).status_code == 200
    assert support_client.get(reverse("customers:segment_create")).status_code == 403
    assert support_client.post(reverse("customers:segment_delete", args=[segment.pk])).status_code == 403


def test_list_with_a_segment_runs_no_extra_query(marketing_client, django_assert_max_num_queries):
    vip = TagFactory(name="VIP")
    for _ in range(3):
        CustomerFactory().tags.add(vip)
    segment = Segment.objects.create(name="VIP", rules={"tags": [vip.pk]})
    marketing_client.get(reverse("customers:list"))  # warm the session cache
    with django_assert_max_num_queries(6):
        response = marketing_client.get(reverse("customers:list"), {"segment": segment.pk})
    assert response.status_code == 200
