"""The customer table's rows, written in Python (customers/rows.py): the same markup the row template wrote, in
English and Japanese, every value escaped, and no query."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.humanize.templatetags import humanize
from django.template import engines
from django.urls import reverse
from django.utils import timezone, translation

from customers.models import Customer
from customers.rows import customer_rows_html
from tests.factories import CustomerFactory, TagFactory, UserFactory, activity_set

pytestmark = pytest.mark.django_db

# The row template the Python rows replace (templates/customers/includes/_customer_row.html as it was), kept here as
# the reference they must match.
ROW_TEMPLATE = """{% load i18n humanize %}
<tr data-customer="{{ c.pk }}">
  <td>
    <a href="{{ c.get_absolute_url }}" class="fw-semibold">{{ c.display_name }}</a>
    {% if c.kana_name %}<div class="kana">{{ c.kana_name }}</div>{% endif %}
  </td>
  <td>{{ c.email }}{% if c.do_not_contact %} <span class="badge text-bg-danger">{% translate "Do not contact" %}</span>\
{% elif show_consent and c.marketing_consent %} <i class="bi bi-envelope-check text-success" \
title="{% translate 'Consents to marketing email' %}" aria-label="{% translate 'Consents to marketing email' %}"></i>\
{% endif %}</td>
  <td class="text-nowrap">{{ c.phone_display }}</td>
  <td>{{ c.company }}</td>
  <td>{% for t in c.tags.all %}<span class="badge text-bg-{{ t.color }} tag-badge me-1">{{ t.name }}</span>\
{% endfor %}</td>
  <td>{% if c.owner %}{{ c.owner.get_full_name|default:c.owner.get_username }}{% else %}\
<span class="text-body-secondary">—</span>{% endif %}</td>
  <td class="text-nowrap small">{{ c.last_activity_at|naturaltime }}</td>
</tr>
"""
HOSTILE = "<script>alert(\"x\")</script> & 'quoted'"


def customer(*, tags: tuple = (), **fields) -> Customer:
    person = CustomerFactory(**fields)
    person.tags.set(tags)
    return person


def template_rows(customers: list[Customer], *, show_consent: bool) -> list[str]:
    template = engines["django"].from_string(ROW_TEMPLATE)
    return [template.render({"c": c, "show_consent": show_consent}).strip() for c in customers]


def python_rows(customers: list[Customer], *, show_consent: bool) -> list[str]:
    written = customer_rows_html(customers, show_consent=show_consent)
    return [row.strip() for row in re.split(r"(?=<tr )", written) if row.strip()]


@pytest.fixture
def customers(db) -> list[Customer]:
    """Customers with and without kana, owner, tags, phone, company; consenting, not, and not to be contacted; last
    active from a moment ago to years ago."""
    now = timezone.now()
    owner = UserFactory(username="owner-a", first_name="Aiko", last_name="Mori")
    nameless = UserFactory(username="owner-b", first_name="", last_name="")
    vip, news = TagFactory(name="VIP", color="danger"), TagFactory(name="Newsletter", color="info")
    people = [
        customer(
            family_name="山田",
            given_name="太郎",
            family_name_kana="ヤマダ",
            given_name_kana="タロウ",
            phone="+819012345678",
            company="Yamada Shoten",
            owner=owner,
            marketing_consent=True,
            tags=(vip, news),
        ),
        customer(family_name="Sato", given_name="", family_name_kana="サトウ", phone="+14155550123"),
        customer(family_name="Smith", given_name="Jane", owner=nameless, do_not_contact=True, tags=(news,)),
        customer(family_name="Suzuki", given_name="Hanako", marketing_consent=True, do_not_contact=True),
        customer(family_name="Tanaka", given_name="Ichiro", email="", phone="+819012345678", owner=owner),
        customer(family_name="Ito", given_name="Ken", phone="12345"),  # not a number phonenumbers parses
    ]
    ago = [
        dt.timedelta(seconds=20),
        dt.timedelta(minutes=5),
        dt.timedelta(hours=3),
        dt.timedelta(days=2, hours=5),
        dt.timedelta(days=45),
        dt.timedelta(days=800),
    ]
    for person, delta in zip(people, ago, strict=True):
        activity_set(person, now - delta)
    return list(Customer.objects.filter(pk__in=[p.pk for p in people]).for_list().order_by("pk"))


@pytest.mark.parametrize("language", ["en", "ja"])
@pytest.mark.parametrize("show_consent", [True, False])
def test_rows_are_what_the_row_template_wrote(customers, language, show_consent):
    # given customers of every kind, in either language
    with translation.override(language):
        # when their rows are written
        written = python_rows(customers, show_consent=show_consent)
        # then each is the template's row, character for character
        assert written == template_rows(customers, show_consent=show_consent)
    assert len(written) == len(customers)


def test_rows_show_what_staff_read_in_japanese(customers):
    with translation.override("ja"):
        html = customer_rows_html(customers, show_consent=True)
    assert "山田 太郎" in html and '<div class="kana">ヤマダ タロウ</div>' in html
    assert '<span class="badge text-bg-danger">連絡不可</span>' in html
    assert 'title="マーケティングメールの受信に同意済み"' in html
    assert "090-1234-5678" in html and "+1 415-555-0123" in html
    assert "3時間前" in html


@pytest.mark.parametrize("zone", ["UTC", "Pacific/Honolulu"])
def test_rows_are_the_template_rows_in_other_time_zones(customers, zone):
    with timezone.override(zone):
        assert python_rows(customers, show_consent=True) == template_rows(customers, show_consent=True)


def test_last_activity_is_counted_as_the_template_counted_it_whatever_the_time_zone(db, monkeypatch):
    # given it is 7 March, noon in Tokyo, and a customer was last active late on 30 January in UTC (early on
    # 31 January in Tokyo). ``naturaltime`` counts from the time as stored (UTC), not from local time: counted from
    # Tokyo's calendar it would be a month and a week (31 January + a month is 28 February), from UTC's a month and
    # six days, written "1 month ago"
    now = dt.datetime(2026, 3, 7, 3, 0, tzinfo=dt.UTC)

    class Frozen(dt.datetime):
        @classmethod
        def now(cls, tz=None):
            return now.astimezone(tz) if tz else now.replace(tzinfo=None)

    monkeypatch.setattr(humanize, "datetime", Frozen)
    person = CustomerFactory(last_activity_at=dt.datetime(2026, 1, 30, 20, 0, tzinfo=dt.UTC))
    customers = list(Customer.objects.filter(pk=person.pk).for_list())
    for zone in ("Asia/Tokyo", "UTC"):
        with timezone.override(zone), translation.override("en"):
            # when the row is written
            written = python_rows(customers, show_consent=True)
            # then it tells the time as the template did
            assert written == template_rows(customers, show_consent=True)
            assert '<td class="text-nowrap small">1\xa0month ago</td>' in written[0]


def test_rows_escape_whatever_staff_or_customers_typed(db):
    # given hostile text in a customer's name, kana, company and email, a tag's name and an owner's name
    owner = UserFactory(first_name=HOSTILE, last_name="")
    tag = TagFactory(name=HOSTILE)
    customer(
        family_name=HOSTILE,
        given_name=HOSTILE,
        family_name_kana=HOSTILE,
        company=HOSTILE,
        email='a"b@example.com',
        owner=owner,
        tags=(tag,),
    )
    customers = list(Customer.objects.for_list())
    # when their rows are written
    html = customer_rows_html(customers, show_consent=True)
    # then nothing they typed is markup, and the rows are still the template's
    assert "<script>" not in html and HOSTILE not in html
    assert html.count("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#x27;quoted&#x27;") == 6
    assert "a&quot;b@example.com" in html
    assert python_rows(customers, show_consent=True) == template_rows(customers, show_consent=True)


def test_writing_the_rows_costs_no_query(customers, django_assert_num_queries):
    with django_assert_num_queries(0):
        customer_rows_html(customers, show_consent=True)


def test_no_customers_write_no_rows(db):
    assert customer_rows_html([]) == ""


def test_customer_list_shows_the_rows_in_five_queries(customers, marketing_client, django_assert_num_queries):
    # given the list page, once (sessions and permissions read)
    marketing_client.get(reverse("customers:list"))
    # when staff open it
    with django_assert_num_queries(5):
        response = marketing_client.get(reverse("customers:list"))
    # then every customer has its row, with the consent mark
    html = response.content.decode()
    assert html.count("<tr data-customer=") == len(customers)
    assert "bi-envelope-check" in html
    for row in python_rows(customers, show_consent=True):
        assert row.split('<td class="text-nowrap small">')[0] in html


def test_customer_list_filter_selects_keep_the_chosen_source_and_consent(customers, marketing_client):
    # when staff filter by source and consent
    response = marketing_client.get(reverse("customers:list"), {"source": "store", "consent": "dnc"})
    # then both selects show the choice made, and every option of the form's fields
    html = response.content.decode()
    assert '<select name="source" class="form-select" id="id_source">' in html
    assert '<option value="store" selected>Store visit</option>' in html
    assert '<option value="" selected>Any source</option>' not in html
    assert '<option value="dnc" selected>Do not contact</option>' in html
    assert '<option value="web">Website</option>' in html and '<option value="no">No consent</option>' in html


def test_customer_list_filter_selects_default_to_any(customers, marketing_client):
    html = marketing_client.get(reverse("customers:list")).content.decode()
    assert '<option value="" selected>Any source</option>' in html
    assert '<option value="" selected>Any consent</option>' in html


def test_customer_list_says_when_nothing_matches(customers, marketing_client):
    html = marketing_client.get(reverse("customers:list"), {"q": "nobody-by-this-name"}).content.decode()
    assert "<tr data-customer=" not in html and "No customers match." in html


def test_insights_drill_down_shows_the_rows_without_the_consent_mark(customers, manager_client):
    # given customers new in the last 30 days, some consenting to marketing email
    from crm.insights import metrics

    period = metrics.Period.last_days(30)
    url = reverse("insights:figure_customers", args=["new_customers"]) + f"?start={period.start}&end={period.end}"
    # when a manager opens the figure's customers
    html = manager_client.get(url).content.decode()
    # then each customer has the list's row, but no consent mark (the drill-down is not about email)
    assert html.count("<tr data-customer=") == len(customers)
    assert "bi-envelope-check" not in html and "text-bg-danger" in html
    for row in python_rows(customers, show_consent=False):
        assert row.split('<td class="text-nowrap small">')[0] in html
