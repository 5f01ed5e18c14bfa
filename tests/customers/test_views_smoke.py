import pytest
from django.urls import reverse

from tests.factories import CustomerFactory, NoteFactory, TagFactory

pytestmark = pytest.mark.django_db


def test_customer_list_and_detail_render_for_support(support_client):
    customer = CustomerFactory(family_name="山田", given_name="太郎", family_name_kana="ヤマダ")
    customer.tags.add(TagFactory(name="VIP"))
    NoteFactory(customer=customer, body="Called about <b>delivery</b>")
    response = support_client.get(reverse("customers:list"))
    assert response.status_code == 200
    assert "山田" in response.content.decode()
    response = support_client.get(customer.get_absolute_url() + "?timeline=1")  # the page with its timeline in it
    assert response.status_code == 200
    body = response.content.decode()
    assert "Called about &lt;b&gt;delivery&lt;/b&gt;" in body
    assert "VIP" in body
