"""The customer list and detail pages cost a fixed number of queries, however many customers there are."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer, CustomerMerge, Note
from tests.factories import TagFactory, UserFactory, activity_set

pytestmark = pytest.mark.django_db

MAX_LIST_QUERIES = 6
MAX_DETAIL_QUERIES = 8  # one of them the access log's INSERT (crm/audit: who opened which customer)
NEXT_LINK = re.compile(r'rel="next" href="([^"]+)"')


class Shop:
    """A customer table that can grow: every customer has an owner (or none), tags, and a note."""

    def __init__(self) -> None:
        self.owners = [UserFactory(username="owner-a"), UserFactory(username="owner-b"), None]
        self.tags = [TagFactory(name="VIP"), TagFactory(name="Newsletter"), TagFactory(name="Wholesale")]
        self.customers: list[Customer] = []
        self.start = timezone.now()

    def grow_to(self, total: int) -> None:
        new = []
        for i in range(len(self.customers), total):
            customer = Customer(
                family_name="Sato",
                given_name=f"Hanako {i:04d}",
                family_name_kana="サトウ",
                given_name_kana="ハナコ",
                email=f"hanako{i}@example.com",
                phone=f"+8190{10000000 + i}",
                company="Sato Shoten" if i % 2 else "",
                owner=self.owners[i % 3],
                source=Customer.Source.STORE,
                marketing_consent=bool(i % 2),
                # every fifth customer shares its created_at with the previous one (ties in the cursor)
                created_at=self.start - dt.timedelta(minutes=i - 1 if i % 5 == 4 else i),
            )
            customer.derive_fields()
            new.append(customer)
        Customer.objects.bulk_create(new)
        for i, customer in enumerate(new):
            activity_set(customer, self.start - dt.timedelta(hours=i))
        through = Customer.tags.through
        through.objects.bulk_create(
            [through(customer_id=c.pk, tag_id=t.pk) for n, c in enumerate(new) for t in self.tags[: 1 + n % 3]]
        )
        Note.objects.bulk_create([Note(customer=c, author=self.owners[0], body=f"Visited #{c.pk}") for c in new])
        self.customers.extend(new)

    def add_history(self, customer: Customer, notes: int) -> None:
        Note.objects.bulk_create(
            [Note(customer=customer, author=self.owners[n % 2], body=f"Call {n}") for n in range(notes)]
        )
        CustomerMerge.objects.create(
            customer=customer, merged_customer_id=999_999, merged_data={"family_name": "Sato"}, merged_by=None
        )


@pytest.fixture
def shop(db) -> Shop:
    return Shop()


@pytest.fixture
def logged_in_marketing(client, marketing):
    client.force_login(marketing)
    return client


def count_queries(client, url: str, **headers) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, headers=headers)
    assert response.status_code == 200
    return len(captured.captured_queries)


def next_page_url(client, url: str) -> str:
    response = client.get(url)
    match = NEXT_LINK.search(response.content.decode())
    assert match, "the first page should link to the next one"
    return reverse("customers:list") + html.unescape(match.group(1))


HTMX = {"HX-Request": "true", "HX-Target": "customer-results"}


@dataclass(frozen=True)
class ListPage:
    name: str
    query: Callable[[Shop], str]
    headers: dict = field(default_factory=dict)
    follow_next: bool = False  # open the page behind the first page's "Next" link


LIST_PAGES = [
    ListPage("plain", lambda shop: ""),
    ListPage("search", lambda shop: "?q=sato"),
    ListPage("tag", lambda shop: f"?tag={shop.tags[0].pk}"),
    ListPage(
        "filters and sort",
        lambda shop: f"?tag={shop.tags[0].pk}&owner={shop.owners[0].pk}&source=store&consent=yes&sort=name",
    ),
    ListPage("next page (?after= cursor)", lambda shop: "", follow_next=True),
    ListPage("htmx search fragment", lambda shop: "?q=hanako", headers=HTMX),
]


def list_url(client, shop: Shop, list_page: ListPage) -> str:
    url = reverse("customers:list") + list_page.query(shop)
    if "q=" in url:  # a search is posted, and its page read by the token it gets (customers/search_tokens.py)
        params = dict(parse_qsl(urlsplit(url).query))
        url = client.post(reverse("customers:list"), {"_search": "1", **params})["Location"]
    return next_page_url(client, url) if list_page.follow_next else url


@pytest.mark.parametrize("list_page", LIST_PAGES, ids=lambda p: p.name)
def test_customer_list_runs_the_same_queries_for_5_and_500_customers(logged_in_marketing, shop, settings, list_page):
    # given: 5 customers, and a first request that puts the session in the cache
    if list_page.follow_next:
        settings.TSUNAGU_PAGE_SIZE = 4  # so that 5 customers already have a second page
    client = logged_in_marketing
    shop.grow_to(5)
    client.get(reverse("customers:list"))

    # when: the page is requested with 5, then with 500 customers (a page of up to 50 rows)
    with_5 = count_queries(client, list_url(client, shop, list_page), **list_page.headers)
    shop.grow_to(500)
    with_500 = count_queries(client, list_url(client, shop, list_page), **list_page.headers)

    # then: the count does not grow with the rows on the page or in the table
    print(f"\nlist ({list_page.name}): {with_5} queries with 5 customers, {with_500} with 500")
    assert with_5 == with_500


@pytest.mark.parametrize("list_page", LIST_PAGES, ids=lambda p: p.name)
def test_customer_list_runs_at_most_6_queries(
    logged_in_marketing, shop, settings, django_assert_max_num_queries, list_page
):
    # given: 500 customers with owners, tags and notes; the session is cached by a first request
    if list_page.follow_next:
        settings.TSUNAGU_PAGE_SIZE = 4
    client = logged_in_marketing
    shop.grow_to(500)
    url = list_url(client, shop, list_page)

    # when / then
    with django_assert_max_num_queries(MAX_LIST_QUERIES):
        response = client.get(url, headers=list_page.headers)
    assert response.status_code == 200


def test_customer_detail_runs_the_same_few_queries_however_long_the_history(
    logged_in_marketing, shop, django_assert_max_num_queries
):
    # given: 5 customers; the one we open has a note and three tags
    client = logged_in_marketing
    shop.grow_to(5)
    customer = shop.customers[2]
    url = customer.get_absolute_url()
    client.get(url)

    # when: the page is requested, then again with 500 customers and 60 more notes and a merge on it
    with django_assert_max_num_queries(MAX_DETAIL_QUERIES) as captured_5:
        assert client.get(url).status_code == 200
    shop.grow_to(500)
    shop.add_history(customer, notes=60)
    with django_assert_max_num_queries(MAX_DETAIL_QUERIES) as captured_500:
        response = client.get(url)

    # then: same count, and the timeline the page loads (htmx, after the page) shows the newest history
    with_5, with_500 = len(captured_5), len(captured_500)
    print(f"\ndetail: {with_5} queries with 5 customers, {with_500} with 500 (and 61 notes, a merge)")
    assert with_5 == with_500
    timeline_url = reverse("customers:timeline", args=[customer.pk])
    assert f'hx-get="{timeline_url}" hx-trigger="load, timelineChanged from:body"' in response.content.decode()
    assert "Call 59" in client.get(timeline_url, headers={"HX-Request": "true"}).content.decode()
