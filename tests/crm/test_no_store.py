"""Personal pages are never stored by a browser or a proxy (Cache-Control: no-store); static files still are."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import CustomerFactory


@pytest.mark.django_db
def test_a_customer_page_is_never_stored(manager_client):
    customer = CustomerFactory(family_name="山田", given_name="花子")
    response = manager_client.get(customer.get_absolute_url())
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]


@pytest.mark.django_db
def test_lists_searches_and_the_login_page_are_never_stored(manager_client, client):
    assert "no-store" in manager_client.get(reverse("customers:list") + "?q=山田")["Cache-Control"]
    assert "no-store" in client.get(reverse("login"))["Cache-Control"]


@pytest.mark.django_db
def test_a_view_s_own_cache_header_is_kept(client):
    # /healthz says no-cache itself (never_cache): the middleware leaves it alone
    response = client.get(reverse("healthz"))
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
