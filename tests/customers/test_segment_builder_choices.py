"""The segment builder: multiple choices as ticked boxes (a filter box when long), and "last purchase more than
N days ago"."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from customers import services
from tests.factories import CustomerFactory, TagFactory, touchpoint_create

pytestmark = pytest.mark.django_db


def test_the_builder_offers_checkboxes_not_a_ctrl_click_multi_select(marketing_client):
    for i in range(8):
        TagFactory(name=f"Tag {i}")

    page = marketing_client.get(reverse("customers:segment_create")).content.decode()

    boxes = re.findall(r'<input type="checkbox"[^>]*name="rule_tags"[^>]*data-filterable', page)
    assert len(boxes) == 8
    assert not re.search(r"<select[^>]*multiple", page)
    assert 'name="rule_last_purchase_over_days"' in page


def test_last_purchase_more_than_n_days_ago(marketing):
    lapsed, recent, never = CustomerFactory(), CustomerFactory(), CustomerFactory()
    long_ago = timezone.now() - dt.timedelta(days=1)
    touchpoint_create(lapsed, "transaction", amount=Decimal(3000), occurred_at=long_ago - dt.timedelta(days=1))
    touchpoint_create(recent, "transaction", amount=Decimal(3000))
    from touchpoints.models import Touchpoint

    Touchpoint.objects.filter(customer=lapsed).update(occurred_at=timezone.now() - dt.timedelta(days=120))

    segment = services.segment_save(name="Lapsed", rules={"last_purchase_over_days": 90}, by=marketing)

    assert list(segment.customers()) == [lapsed]
    assert never not in segment.customers()
