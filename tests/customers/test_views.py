"""The customers pages as staff use them: list filters, sorting and search, forms, duplicates and merge."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer, CustomerActivity, CustomerMerge, Tag
from tests.factories import CustomerFactory, NoteFactory, TagFactory, UserFactory

pytestmark = pytest.mark.django_db

RESULT_LINK = re.compile(r'<a href="/customers/\d+/" class="fw-semibold">([^<]*)</a>')
GROUP = re.compile(r'<form[^>]*class="[^"]*duplicate-group[^"]*".*?</form>', re.S)
GROUP_LINK = re.compile(r'<a href="/customers/\d+/">([^<]*)</a>')


def shown_names(response) -> list[str]:
    """The customer names in the list's results table, top to bottom."""
    assert response.status_code == 200
    return [html.unescape(name) for name in RESULT_LINK.findall(response.content.decode())]


def duplicate_groups_shown(response) -> list[list[str]]:
    assert response.status_code == 200
    return [
        sorted(html.unescape(n) for n in GROUP_LINK.findall(block))
        for block in GROUP.findall(response.content.decode())
    ]


def list_page(client, **params):
    return client.get(reverse("customers:list"), params)


def person(name: str, **fields) -> Customer:
    """A customer shown simply as ``name`` (no given name), created ``fields.pop('days_ago', 0)`` days ago."""
    days_ago = fields.pop("days_ago", 0)
    return CustomerFactory(
        family_name=name, given_name="", created_at=timezone.now() - dt.timedelta(days=days_ago), **fields
    )


# --- list: filters -------------------------------------------------------------------------------


def test_list_filters_by_tag(support_client):
    # given
    vip = TagFactory(name="VIP")
    person("Aoki").tags.add(vip)
    person("Baba")

    # then
    assert shown_names(list_page(support_client, tag=vip.pk)) == ["Aoki"]


def test_list_filters_by_owner_and_by_no_owner(support_client):
    # given
    owner = UserFactory(username="kimura", first_name="Kenji", last_name="Kimura")
    person("Aoki", owner=owner)
    person("Baba")

    # then
    assert shown_names(list_page(support_client, owner=owner.pk)) == ["Aoki"]
    assert shown_names(list_page(support_client, owner="none")) == ["Baba"]
    # and: the owner is offered in the filter menu by name
    assert "Kenji Kimura" in list_page(support_client).content.decode()


def test_list_filters_by_source(support_client):
    person("Aoki", source=Customer.Source.STORE)
    person("Baba", source=Customer.Source.WEB)
    assert shown_names(list_page(support_client, source="store")) == ["Aoki"]


@pytest.mark.parametrize(
    "consent, expected",
    [("yes", ["Aoki"]), ("no", ["Chiba"]), ("dnc", ["Baba"])],
)
def test_list_filters_by_consent(support_client, consent, expected):
    # given: one can receive marketing, one consented but asked not to be contacted, one never consented
    person("Aoki", marketing_consent=True, days_ago=3)
    person("Baba", marketing_consent=True, do_not_contact=True, days_ago=2)
    person("Chiba", marketing_consent=False, days_ago=1)

    # then
    assert shown_names(list_page(support_client, consent=consent)) == expected


def test_list_combines_search_and_filters(support_client):
    vip = TagFactory(name="VIP")
    person("Sato", source=Customer.Source.STORE).tags.add(vip)
    person("Satomi", source=Customer.Source.WEB).tags.add(vip)
    person("Saito", source=Customer.Source.STORE)
    assert shown_names(list_page(support_client, q="sato", tag=vip.pk, source="store")) == ["Sato"]


# --- list: sorting -------------------------------------------------------------------------------


@pytest.fixture
def three_customers():
    """Created Ueda (oldest), Aoki, Kato (newest); activity: Kato, Ueda, Aoki (most recent first)."""
    now = timezone.now()
    ueda = person("Ueda", days_ago=3)
    aoki = person("Aoki", days_ago=2)
    kato = person("Kato", days_ago=1)
    for customer, hours in ((kato, 1), (ueda, 2), (aoki, 3)):
        CustomerActivity.objects.filter(customer_id=customer.pk).update(
            last_activity_at=now - dt.timedelta(hours=hours)
        )
    return ueda, aoki, kato


@pytest.mark.parametrize(
    "sort, expected",
    [
        ("-created", ["Kato", "Aoki", "Ueda"]),
        ("created", ["Ueda", "Aoki", "Kato"]),
        ("name", ["Aoki", "Kato", "Ueda"]),
        ("-name", ["Ueda", "Kato", "Aoki"]),
        ("-last_activity", ["Kato", "Ueda", "Aoki"]),
        ("last_activity", ["Aoki", "Ueda", "Kato"]),
    ],
)
def test_list_sorts_as_chosen(support_client, three_customers, sort, expected):
    assert shown_names(list_page(support_client, sort=sort)) == expected


@pytest.mark.parametrize("sort", ["password", "-id", "family_name; DROP TABLE customers_customer", "__class__"])
def test_list_falls_back_to_newest_first_for_an_unknown_sort(support_client, three_customers, sort):
    # when
    response = list_page(support_client, sort=sort)

    # then: the page works, newest first, and the sort menu shows the default
    assert shown_names(response) == ["Kato", "Aoki", "Ueda"]
    assert '<option value="-created" selected>' in response.content.decode()


def test_list_sorts_by_kana_reading_when_there_is_one(support_client):
    # given: kanji names, whose reading decides the order (あ before さ before や)
    CustomerFactory(family_name="山田", given_name="", family_name_kana="ヤマダ")
    CustomerFactory(family_name="青木", given_name="", family_name_kana="アオキ")
    CustomerFactory(family_name="佐藤", given_name="", family_name_kana="サトウ")

    # then
    assert shown_names(list_page(support_client, sort="name")) == ["青木", "佐藤", "山田"]


# --- list: search --------------------------------------------------------------------------------


@pytest.fixture
def yamada():
    person("Suzuki", family_name_kana="スズキ", email="suzuki@example.com", phone="+819087654321")
    return CustomerFactory(
        family_name="山田",
        given_name="太郎",
        family_name_kana="ヤマダ",
        given_name_kana="タロウ",
        email="taro.yamada@example.com",
        phone="+819012345678",
    )


@pytest.mark.parametrize(
    "query",
    # and as staff type it: hiragana, half-width katakana (an old till), full-width letters
    ["ヤマダ", "ヤマ", "タロウ", "ヤマダタロウ", "山田", "山田太郎", "やまだ", "やま", "ﾔﾏﾀﾞ", "ＴＡＲＯ．ＹＡＭＡＤＡ"],
)
def test_list_search_finds_a_customer_by_name_and_kana(support_client, yamada, query):
    assert shown_names(list_page(support_client, q=query)) == [yamada.display_name]


@pytest.mark.parametrize(
    "query",
    [
        "090-1234-5678",
        "09012345678",
        "090 1234 5678",
        "+81 90-1234-5678",
        "5678",
        "０９０－１２３４－５６７８",  # full width
    ],
)
def test_list_search_finds_a_customer_by_phone_however_it_is_typed(support_client, yamada, query):
    assert shown_names(list_page(support_client, q=query)) == [yamada.display_name]


@pytest.mark.parametrize(
    "query", ["taro.yamada@example.com", "Taro.Yamada@Example.COM", "taro.yamada", "  taro.yamada  "]
)
def test_list_search_finds_a_customer_by_email(support_client, yamada, query):
    assert shown_names(list_page(support_client, q=query)) == [yamada.display_name]


def test_a_name_typed_in_hiragana_or_half_width_is_found_however_it_is_searched(support_client):
    sakura = CustomerFactory(family_name="佐藤", given_name="さくら", family_name_kana="ｻﾄｳ")
    for query in ("さくら", "サクラ", "サトウ", "さとう"):
        assert shown_names(list_page(support_client, q=query)) == [sakura.display_name], query


def test_list_search_says_when_nothing_matches(support_client, yamada):
    response = list_page(support_client, q="nobody-like-this")
    assert shown_names(response) == []
    assert "No customers match." in response.content.decode()


def test_list_search_finds_a_latin_family_name_from_its_first_two_letters(support_client):
    # given: a customer with a romanised family name and a kana reading
    CustomerFactory(family_name="Yamada", given_name="Taro", family_name_kana="ヤマダ", given_name_kana="タロウ")

    # when: the agent has typed two letters so far
    names = shown_names(list_page(support_client, q="ya"))

    # then: the customer already shows (as it does for "yam")
    assert shown_names(list_page(support_client, q="yam")) == ["Taro Yamada"]
    assert names == ["Taro Yamada"]


def test_list_search_answers_htmx_with_the_results_fragment_only(support_client, yamada):
    # when: the search box sends its htmx request
    response = support_client.get(
        reverse("customers:list"), {"q": "ヤマダ"}, headers={"HX-Request": "true", "HX-Target": "customer-results"}
    )

    # then: only the results card comes back, with the match
    body = response.content.decode()
    assert shown_names(response) == [yamada.display_name]
    assert "<html" not in body
    assert 'id="customer-filters"' not in body


# --- create and edit forms -----------------------------------------------------------------------


def form_data(**overrides) -> dict:
    data = {
        "family_name": "Tanaka",
        "given_name": "Ichiro",
        "family_name_kana": "タナカ",
        "given_name_kana": "イチロウ",
        "email": "ichiro@example.com",
        "phone": "090-1234-5678",
        "country": "JP",
        "preferred_channel": "email",
        "preferred_language": "ja",
        "source": "store",
    }
    data.update(overrides)
    return data


def test_create_form_saves_the_customer_and_shows_it(support_client):
    # given
    vip = TagFactory(name="VIP")

    # when
    response = support_client.post(
        reverse("customers:create"), form_data(email="Ichiro@Example.com", tags=[vip.pk]), follow=True
    )

    # then: the agent lands on the new customer's page with a confirmation
    customer = Customer.objects.get()
    assert response.redirect_chain == [(customer.get_absolute_url(), 302)]
    body = response.content.decode()
    assert "Customer created." in body
    assert "ichiro@example.com" in body
    assert "090-1234-5678" in body
    assert "VIP" in body
    assert customer.phone == "+819012345678"


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"family_name": ""}, "family_name", "This field is required."),
        ({"phone": "12345"}, "phone", "Enter a valid phone number."),
        ({"email": "not-an-email"}, "email", "Enter a valid email address."),
        ({"marketing_consent": "on", "email": ""}, "marketing_consent", "Marketing consent needs an email address"),
        ({"birth_date": "1980-13-45"}, "birth_date", "Enter a valid date."),
    ],
)
def test_create_form_shows_validation_errors_and_saves_nothing(support_client, overrides, field, message):
    # when
    response = support_client.post(reverse("customers:create"), form_data(**overrides))

    # then: the form comes back with the error next to the field, and the typed values kept
    assert response.status_code == 200
    assert message in response.content.decode()
    assert field in response.context["form"].errors
    assert 'value="Ichiro"' in response.content.decode()
    assert not Customer.objects.exists()


def test_create_form_refuses_an_email_another_customer_has_in_other_case(support_client):
    # given
    CustomerFactory(email="ichiro@example.com")

    # when
    response = support_client.post(reverse("customers:create"), form_data(email="ICHIRO@example.com"))

    # then: the form comes back with an error, and no second customer is saved
    assert response.status_code == 200
    assert response.context["form"].errors
    assert Customer.objects.count() == 1


def test_create_form_explains_a_taken_email_next_to_the_email_field(support_client):
    # given
    CustomerFactory(email="ichiro@example.com")

    # when
    response = support_client.post(reverse("customers:create"), form_data(email="ICHIRO@example.com"))

    # then
    body = response.content.decode()
    assert "Another customer already has this email address." in body
    assert "customers_customer_email_ci_unique" not in body
    assert response.context["form"].errors["email"]


def test_edit_form_shows_the_phone_as_typed_in_japan_and_saves_changes(support_client):
    # given
    customer = CustomerFactory(family_name="Tanaka", given_name="Ichiro", phone="+819012345678")

    # when: the agent opens the form
    response = support_client.get(reverse("customers:update", args=[customer.pk]))

    # then: the phone reads in national format
    assert response.status_code == 200
    assert 'value="090-1234-5678"' in response.content.decode()

    # when: they change the company and submit the phone back unchanged
    response = support_client.post(
        reverse("customers:update", args=[customer.pk]),
        form_data(email=customer.email, company="Tanaka Shoten"),
        follow=True,
    )

    # then
    assert "Changes saved." in response.content.decode()
    customer.refresh_from_db()
    assert customer.company == "Tanaka Shoten"
    assert customer.phone == "+819012345678"


def test_edit_form_refuses_another_customers_email_and_keeps_the_record(support_client):
    # given
    customer = CustomerFactory(email="ichiro@example.com")
    CustomerFactory(email="hanako@example.com")

    # when
    response = support_client.post(
        reverse("customers:update", args=[customer.pk]), form_data(email="Hanako@example.com")
    )

    # then
    assert response.status_code == 200
    assert response.context["form"].errors
    customer.refresh_from_db()
    assert customer.email == "ichiro@example.com"


def test_tag_form_refuses_a_name_that_exists_in_another_case(manager_client):
    # given
    TagFactory(name="VIP")

    # when
    response = manager_client.post(reverse("customers:tags"), {"name": "vip", "color": "secondary"})

    # then
    assert response.status_code == 200
    assert response.context["form"].errors
    assert list(Tag.objects.values_list("name", flat=True)) == ["VIP"]


def test_tag_form_explains_a_taken_name_next_to_the_name_field(manager_client):
    # given
    TagFactory(name="VIP")

    # when
    response = manager_client.post(reverse("customers:tags"), {"name": "vip", "color": "secondary"})

    # then
    assert "A tag with this name already exists." in response.content.decode()
    assert response.context["form"].errors["name"]


def test_tag_form_creates_a_tag_and_lists_it(manager_client):
    response = manager_client.post(
        reverse("customers:tags"), {"name": "  Spring   sale ", "color": "success"}, follow=True
    )
    assert "Tag created." in response.content.decode()
    assert Tag.objects.get().name == "Spring sale"


def test_note_form_without_htmx_refuses_an_empty_note_with_a_message(support_client):
    customer = CustomerFactory()
    response = support_client.post(reverse("customers:note_create", args=[customer.pk]), {"body": "  "}, follow=True)
    assert "The note was not saved" in response.content.decode()
    assert not customer.notes.exists()


def test_note_form_with_htmx_returns_the_new_timeline_item(support_client):
    customer = CustomerFactory()
    response = support_client.post(
        reverse("customers:note_create", args=[customer.pk]),
        {"body": "Likes <b>green tea</b>"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert 'class="timeline-item"' in body
    assert "Likes &lt;b&gt;green tea&lt;/b&gt;" in body


# --- duplicates and merge ------------------------------------------------------------------------


def test_duplicates_page_groups_customers_with_the_same_phone(support_client):
    # given
    person("Aoki", phone="+819011112222")
    person("Aoki-san", phone="+819011112222")
    person("Baba", phone="+819033334444")
    person("Chiba", phone="")

    # when
    response = support_client.get(reverse("customers:duplicates"), {"rule": "phone"})

    # then
    assert duplicate_groups_shown(response) == [["Aoki", "Aoki-san"]]


def test_duplicates_page_groups_customers_with_the_same_name_and_birth_date(support_client):
    # given: the same person typed twice (case differs); a namesake born another day; one with no birth date
    birthday = dt.date(1985, 5, 5)
    CustomerFactory(family_name="Yamada", given_name="Taro", birth_date=birthday, email="a@example.com")
    CustomerFactory(family_name="YAMADA", given_name="taro", birth_date=birthday, email="b@example.com")
    CustomerFactory(family_name="Yamada", given_name="Taro", birth_date=dt.date(1990, 1, 1), email="c@example.com")
    CustomerFactory(family_name="Yamada", given_name="Taro", birth_date=None, email="d@example.com")

    # when
    response = support_client.get(reverse("customers:duplicates"), {"rule": "name_birth"})

    # then
    assert duplicate_groups_shown(response) == [["Taro Yamada", "taro YAMADA"]]


def test_duplicates_page_falls_back_to_phone_for_an_unknown_rule(support_client):
    person("Aoki", phone="+819011112222")
    person("Aoki-san", phone="+819011112222")
    assert duplicate_groups_shown(support_client.get(reverse("customers:duplicates"), {"rule": "nope"})) == [
        ["Aoki", "Aoki-san"]
    ]


def test_duplicates_page_says_when_there_are_none(support_client):
    person("Aoki", phone="+819011112222")
    response = support_client.get(reverse("customers:duplicates"))
    assert duplicate_groups_shown(response) == []
    assert "No likely duplicates by this rule." in response.content.decode()


@pytest.fixture
def twins():
    older = person("Aoki", phone="+819011112222", email="aoki@example.com", days_ago=10)
    newer = person("Aoki-san", phone="+819011112222", email="", company="Aoki Shoten", days_ago=1)
    NoteFactory(customer=newer, body="Prefers the Ginza store.")
    return older, newer


def test_merge_page_compares_the_two_records_oldest_first(support_client, twins):
    # given
    older, newer = twins

    # when
    response = support_client.get(reverse("customers:merge"), {"ids": [newer.pk, older.pk]})

    # then: both records side by side, the older one chosen to keep by default
    assert response.status_code == 200
    body = response.content.decode()
    assert body.index(f"Keep #{older.pk}") < body.index(f"Keep #{newer.pk}")
    assert f'value="{older.pk}" checked' in body
    assert "Aoki Shoten" in body
    assert "aoki@example.com" in body


@pytest.mark.parametrize("ids", [[], ["1"], ["abc", "def"], ["999998", "999999"]])
def test_merge_page_sends_back_to_duplicates_without_two_existing_customers(support_client, ids):
    response = support_client.get(reverse("customers:merge"), {"ids": ids}, follow=True)
    assert response.redirect_chain == [(reverse("customers:duplicates"), 302)]
    assert "Choose two existing customers to merge." in response.content.decode()


def test_merge_post_folds_the_duplicate_into_the_chosen_record(support_client, twins):
    # given
    older, newer = twins

    # when
    response = support_client.post(
        reverse("customers:merge"), {"ids": [older.pk, newer.pk], "keep": older.pk}, follow=True
    )

    # then: the agent is on the kept record, which now holds the other's note and company
    assert response.redirect_chain == [(older.get_absolute_url(), 302)]
    assert "Customers merged." in response.content.decode()
    body = support_client.get(older.get_absolute_url() + "?timeline=1").content.decode()  # with its timeline
    assert "Prefers the Ginza store." in body
    assert "Aoki Shoten" in body
    assert f"Merged record #{newer.pk} (Aoki-san, —) into this customer." in body
    assert not Customer.objects.filter(pk=newer.pk).exists()
    assert CustomerMerge.objects.get().merged_customer_id == newer.pk


def test_merge_post_without_a_valid_record_to_keep_merges_nothing(support_client, twins):
    # given
    older, newer = twins

    # when
    response = support_client.post(reverse("customers:merge"), {"ids": [older.pk, newer.pk], "keep": "12345678"})

    # then: the comparison is shown again with a message
    assert response.status_code == 200
    assert "Choose the record to keep." in response.content.decode()
    assert Customer.objects.count() == 2
    assert not CustomerMerge.objects.exists()


def test_list_count_arrives_after_the_page_and_says_more_than_the_cap(marketing_client, settings):
    # given: three customers named Tanaka and one other; a cap of two for counting
    for _ in range(3):
        CustomerFactory(family_name="Tanaka")
    CustomerFactory(family_name="Suzuki")

    # when: the page is shown, then its count is fetched the way the page does (htmx on load, by the search's token)
    page = marketing_client.get(reverse("customers:list"), {"q": "tanaka"}).content.decode()
    count_url = html.unescape(re.search(r'hx-get="(/customers/\?s=[\w-]+&amp;count=1)"', page).group(1))
    exact = marketing_client.get(count_url).content.decode()
    settings.TSUNAGU_COUNT_CAP = 2
    capped = marketing_client.get(count_url).content.decode()

    # then
    assert "tanaka" not in count_url
    assert exact.strip() == "3 customers"
    assert capped.strip() == "More than 2 customers"
