"""Searches keep what was typed (names, emails, phones) out of URLs: the form posts, the text waits in the session
under a short-lived token, and the URL (address bar, access logs, links) carries only the token."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db

SEARCH = "yamada.hanako@example.com"


@pytest.fixture
def customers(db):
    CustomerFactory(family_name="Yamada", email=SEARCH)
    CustomerFactory(family_name="Suzuki", email="suzuki@example.com")


def test_the_customer_search_posts_and_redirects_to_a_url_without_the_text(manager_client, customers):
    # when: the search form is sent
    response = manager_client.post(reverse("customers:list"), {"_search": "1", "q": SEARCH, "sort": "name"})

    # then: a redirect to a URL with a token, not the text
    assert response.status_code == 303
    url = response["Location"]
    assert "yamada" not in url.lower() and "%40" not in url and "@" not in url
    assert "s=" in url and "sort=name" in url

    # and: that URL (back/forward, a reload) shows the search's results, and its links carry no text either
    page = manager_client.get(url).content.decode()
    assert SEARCH in page and "suzuki@example.com" not in page
    assert "q=" not in page.replace('name="q"', "")


def test_an_htmx_search_pushes_a_url_without_the_text(manager_client, customers):
    response = manager_client.post(
        reverse("customers:list"),
        {"_search": "1", "q": "Yamada"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="customer-results",
    )
    assert response.status_code == 200
    assert SEARCH in response.content.decode()
    assert "Yamada" not in response["HX-Push-Url"] and "s=" in response["HX-Push-Url"]


def test_another_session_cannot_read_a_search_token(client, manager_client, customers):
    url = manager_client.post(reverse("customers:list"), {"_search": "1", "q": "Yamada"})["Location"]
    client.force_login(UserFactory(username="other-manager", role="Manager"))
    page = client.get(url).content.decode()
    assert "suzuki@example.com" in page  # no search: everyone, not Yamada's search


def test_the_search_form_needs_a_csrf_token(customers, manager):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(manager)
    assert strict.post(reverse("customers:list"), {"_search": "1", "q": "Yamada"}).status_code == 403


@pytest.mark.parametrize(("url_name", "role"), [("feedback:queue", "Support"), ("loyalty:members", "Manager")])
def test_the_ticket_and_member_searches_keep_the_text_out_of_urls(client, url_name, role):
    client.force_login(UserFactory(username=f"{role}-searcher", role=role))
    response = client.post(reverse(url_name), {"_search": "1", "q": "090-1234-5678"})
    assert response.status_code == 303
    assert "1234" not in response["Location"]
    assert client.get(response["Location"]).status_code == 200


def test_the_new_ticket_customer_lookup_posts_and_leaves_the_address_alone(client, customers):
    client.force_login(UserFactory(username="support-searcher", role="Support"))
    response = client.post(
        reverse("feedback:customer_search"), {"_search": "fragment", "q": "Yamada"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert SEARCH in response.content.decode()
    assert "HX-Push-Url" not in response

    # without JavaScript, the form's POST lands on the new-ticket page with a token
    response = client.post(reverse("feedback:ticket_create"), {"_search": "fragment", "q": "Yamada"})
    assert response.status_code == 303 and "Yamada" not in response["Location"]
    assert SEARCH in client.get(response["Location"]).content.decode()
