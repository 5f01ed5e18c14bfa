"""The customers services (customers/services.py) and keyset pagination (customers/pagination.py)."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from customers import services, timeline
from customers.models import Customer, CustomerActivity, CustomerMerge, Note, Tag
from customers.pagination import keyset_page
from customers.querysets import CUSTOMER_ORDERINGS
from tests.factories import CustomerFactory, NoteFactory, TagFactory, UserFactory, activity_set

pytestmark = pytest.mark.django_db


def customer_data(**overrides) -> dict:
    data = {"family_name": "Yamada", "given_name": "Taro", "email": "taro@example.com"}
    data.update(overrides)
    return data


# --- customer_create / customer_update -----------------------------------------------------------


def test_customer_create_stores_email_lower_case_and_phone_in_e164():
    # when
    customer = services.customer_create(data=customer_data(email="  Taro.Yamada@Example.COM ", phone="090-1234-5678"))

    # then
    customer.refresh_from_db()
    assert customer.email == "taro.yamada@example.com"
    assert customer.phone == "+819012345678"
    assert customer.phone_display == "090-1234-5678"


def test_customer_create_refuses_an_email_another_customer_has_in_other_case():
    # given
    CustomerFactory(email="hanako@example.com")

    # when
    with pytest.raises(ValidationError) as refused:
        services.customer_create(data=customer_data(email="Hanako@EXAMPLE.com"))

    # then: the error points at the email field, and nothing was saved
    assert "email" in refused.value.message_dict
    assert Customer.objects.count() == 1


def test_customer_create_refuses_an_invalid_phone_number():
    with pytest.raises(ValidationError):
        services.customer_create(data=customer_data(phone="12"))
    assert not Customer.objects.exists()


@pytest.mark.parametrize("born", ["0001-01-01", "1899-12-31", "9999-12-31", "2999-01-01"])
def test_an_impossible_birth_date_is_refused_as_the_csv_import_refuses_it(born):
    with pytest.raises(ValidationError) as exc:
        services.customer_create(data={"family_name": "Sato", "birth_date": born})
    assert exc.value.message_dict == {"birth_date": ["This birth date is not plausible."]}
    assert services.customer_create(data={"family_name": "Sato", "birth_date": "1900-01-01"}).pk


def test_customer_create_records_when_consent_was_given():
    # given
    before = timezone.now()

    # when
    customer = services.customer_create(data=customer_data(marketing_consent=True))

    # then: the time of the opt-in is recorded, with staff (verbal) as the default source
    assert customer.consent_at is not None
    assert before <= customer.consent_at <= timezone.now()
    assert customer.consent_source == Customer.ConsentSource.VERBAL


def test_customer_create_without_consent_records_no_consent_time():
    customer = services.customer_create(data=customer_data())
    assert customer.consent_at is None
    assert customer.consent_source == ""


def test_customer_update_records_when_consent_was_withdrawn():
    # given: a customer who opted in a month ago
    customer = services.customer_create(
        data=customer_data(marketing_consent=True, consent_source=Customer.ConsentSource.WEB_FORM)
    )
    Customer.objects.filter(pk=customer.pk).update(consent_at=timezone.now() - dt.timedelta(days=30))
    customer.refresh_from_db()
    before = timezone.now()

    # when: consent is withdrawn
    services.customer_update(customer=customer, data={"marketing_consent": False})

    # then: the withdrawal time replaces the opt-in time
    customer.refresh_from_db()
    assert customer.marketing_consent is False
    assert customer.consent_at >= before


def test_customer_update_keeps_the_consent_time_when_consent_does_not_change():
    # given
    customer = services.customer_create(data=customer_data(marketing_consent=True))
    given_at = customer.consent_at

    # when: something else changes
    services.customer_update(customer=customer, data={"company": "Yamada Shoten"})

    # then
    customer.refresh_from_db()
    assert customer.consent_at == given_at
    assert customer.company == "Yamada Shoten"


def test_customer_update_changes_fields_and_tags():
    # given
    vip, wholesale = TagFactory(name="VIP"), TagFactory(name="Wholesale")
    customer = services.customer_create(data=customer_data(), tags=[vip])

    # when
    services.customer_update(customer=customer, data={"given_name": "Jiro", "phone": "03 1234 5678"}, tags=[wholesale])

    # then
    customer.refresh_from_db()
    assert customer.given_name == "Jiro"
    assert customer.phone == "+81312345678"
    assert list(customer.tags.all()) == [wholesale]
    assert "jiro" in customer.search_text


def test_customer_update_may_change_the_case_of_its_own_email_but_not_take_anothers():
    # given
    customer = services.customer_create(data=customer_data(email="taro@example.com"))
    CustomerFactory(email="hanako@example.com")

    # when / then: its own address in another case is fine (stored lower-case)
    services.customer_update(customer=customer, data={"email": "TARO@example.com"})
    customer.refresh_from_db()
    assert customer.email == "taro@example.com"

    # when / then: another customer's address is refused
    with pytest.raises(ValidationError) as refused:
        services.customer_update(customer=customer, data={"email": "Hanako@example.com"})
    assert "email" in refused.value.message_dict
    customer.refresh_from_db()
    assert customer.email == "taro@example.com"


# --- note_create ---------------------------------------------------------------------------------


@pytest.mark.parametrize("body", ["", "   \n  "])
def test_note_create_refuses_an_empty_note(body):
    customer = CustomerFactory()
    with pytest.raises(ValidationError) as refused:
        services.note_create(customer=customer, body=body, author=None)
    assert "body" in refused.value.message_dict
    assert not Note.objects.exists()


def test_note_create_moves_last_activity_forward():
    # given: a customer last active a year ago
    customer = CustomerFactory()
    CustomerActivity.objects.filter(customer_id=customer.pk).update(
        last_activity_at=timezone.now() - dt.timedelta(days=365)
    )
    author = UserFactory()

    # when
    note = services.note_create(customer=customer, body="  Asked about the spring sale.  ", author=author)

    # then: the note is stored trimmed, and the customer counts as active now
    customer.refresh_from_db()
    assert note.body == "Asked about the spring sale."
    assert note.author == author
    assert customer.last_activity_at == note.created_at


def test_note_create_never_moves_last_activity_back():
    # given: activity recorded in the future (a scheduled visit, a clock ahead)
    customer = CustomerFactory()
    later = timezone.now() + dt.timedelta(days=1)
    activity_set(customer, later)

    # when
    services.note_create(customer=customer, body="Called.", author=None)

    # then
    customer.refresh_from_db()
    assert customer.last_activity_at == later


# --- tags ----------------------------------------------------------------------------------------


def test_tag_save_refuses_a_name_that_exists_in_another_case():
    # given
    TagFactory(name="VIP")

    # when / then
    with pytest.raises(ValidationError) as refused:
        services.tag_save(name="  vip ")
    assert "name" in refused.value.message_dict
    assert Tag.objects.count() == 1


def test_tag_save_lets_a_tag_change_the_case_of_its_own_name():
    # given
    tag = TagFactory(name="vip")

    # when
    services.tag_save(tag=tag, name="VIP", color=Tag.Color.RED, description="Top customers")

    # then
    tag.refresh_from_db()
    assert (tag.name, tag.color, tag.description) == ("VIP", Tag.Color.RED, "Top customers")


def test_tag_save_collapses_whitespace_and_refuses_a_blank_name():
    assert services.tag_save(name="  Spring   sale ").name == "Spring sale"
    with pytest.raises(ValidationError):
        services.tag_save(name="   ")


def test_tags_get_or_create_reuses_tags_ignoring_case_and_creates_the_missing_ones():
    # given
    vip = TagFactory(name="VIP")

    # when
    tags = services.tags_get_or_create(["vip", "Newsletter", " newsletter ", "", "  "])

    # then: one tag per distinct name, existing ones reused (keeping their spelling), in the order asked
    assert [t.name.lower() for t in tags] == ["vip", "newsletter"]
    assert tags[0].pk == vip.pk
    assert tags[0].name == "VIP"
    assert Tag.objects.count() == 2
    assert services.tags_get_or_create([]) == []


# --- customer_merge ------------------------------------------------------------------------------


@pytest.fixture
def pair():
    """A record and its later duplicate: each with notes and tags, each missing what the other has."""
    now = timezone.now()
    vip, wholesale = TagFactory(name="VIP"), TagFactory(name="Wholesale")
    owner = UserFactory(username="owner")
    primary = CustomerFactory(
        family_name="Yamada",
        given_name="Taro",
        email="taro@example.com",
        phone="",
        company="",
        created_at=now - dt.timedelta(days=30),
    )
    primary.tags.add(vip)
    duplicate = CustomerFactory(
        family_name="Yamada",
        given_name="",
        email="",
        phone="+819012345678",
        company="Yamada Shoten",
        owner=owner,
        birth_date=dt.date(1980, 4, 1),
        do_not_contact=True,
        created_at=now - dt.timedelta(days=60),
    )
    duplicate.tags.add(vip, wholesale)
    NoteFactory(customer=primary, body="Primary note")
    NoteFactory.create_batch(2, customer=duplicate, body="Duplicate note")
    return primary, duplicate


def test_customer_merge_moves_notes_and_tags_to_the_kept_record(pair):
    # given
    primary, duplicate = pair

    # when
    services.customer_merge(primary=primary, duplicate=duplicate)

    # then
    primary.refresh_from_db()
    moved = sorted(primary.notes.exclude(body__startswith="Merged record").values_list("body", flat=True))
    assert moved == ["Duplicate note", "Duplicate note", "Primary note"]
    assert sorted(primary.tags.values_list("name", flat=True)) == ["VIP", "Wholesale"]


def test_customer_merge_fills_empty_fields_and_keeps_the_kept_records_own_values(pair):
    # given
    primary, duplicate = pair
    duplicate_created = duplicate.created_at

    # when
    services.customer_merge(primary=primary, duplicate=duplicate)

    # then: empty fields come from the duplicate, filled ones stay, the older creation date is kept
    primary.refresh_from_db()
    assert primary.phone == "+819012345678"
    assert primary.company == "Yamada Shoten"
    assert primary.birth_date == dt.date(1980, 4, 1)
    assert primary.owner.username == "owner"
    assert primary.given_name == "Taro"
    assert primary.email == "taro@example.com"
    assert primary.created_at == duplicate_created
    assert "09012345678" in primary.search_text


def test_customer_merge_takes_the_duplicates_email_when_the_kept_record_has_none():
    # given: the email sits on the record being merged away (unique ignoring case)
    primary = CustomerFactory(email="")
    duplicate = CustomerFactory(email="shared@example.com")

    # when
    services.customer_merge(primary=primary, duplicate=duplicate)

    # then
    primary.refresh_from_db()
    assert primary.email == "shared@example.com"


@pytest.mark.parametrize("primary_dnc, duplicate_dnc", [(True, False), (False, True), (False, False)])
def test_customer_merge_keeps_do_not_contact_if_either_record_had_it(primary_dnc, duplicate_dnc):
    # given
    primary = CustomerFactory(do_not_contact=primary_dnc)
    duplicate = CustomerFactory(do_not_contact=duplicate_dnc)

    # when
    services.customer_merge(primary=primary, duplicate=duplicate)

    # then
    primary.refresh_from_db()
    assert primary.do_not_contact is (primary_dnc or duplicate_dnc)


def test_customer_merge_keeps_the_most_recent_consent_decision():
    # given: consent withdrawn on the duplicate after it was given on the primary
    primary = CustomerFactory(marketing_consent=True, consent_at=timezone.now() - dt.timedelta(days=10))
    withdrawn_at = timezone.now() - dt.timedelta(days=1)
    duplicate = CustomerFactory(marketing_consent=False, consent_at=withdrawn_at)

    # when
    services.customer_merge(primary=primary, duplicate=duplicate)

    # then
    primary.refresh_from_db()
    assert primary.marketing_consent is False
    assert primary.consent_at == withdrawn_at


def test_customer_merge_records_the_merge_shows_it_on_the_timeline_and_deletes_the_duplicate(pair):
    # given
    primary, duplicate = pair
    staff = UserFactory(username="merger")
    duplicate_pk = duplicate.pk

    # when
    merge = services.customer_merge(primary=primary, duplicate=duplicate, by=staff)

    # then: the duplicate is gone
    assert not Customer.objects.filter(pk=duplicate_pk).exists()
    # and: the merge is recorded with a snapshot of the merged record and what moved
    merge = CustomerMerge.objects.get(pk=merge.pk)
    assert merge.customer == primary
    assert merge.merged_customer_id == duplicate_pk
    assert merge.merged_by == staff
    assert merge.merged_data["phone"] == "+819012345678"
    assert sorted(merge.merged_data["tags"]) == ["VIP", "Wholesale"]
    assert merge.moved["customers.Note"] == 2
    # and: it is on the kept customer's timeline
    entries = timeline.timeline_page(primary).entries
    merge_notes = [e.obj for e in entries if e.kind == "note" and f"#{duplicate_pk}" in e.obj.body]
    assert len(merge_notes) == 1
    assert merge_notes[0].author == staff


def test_customer_merge_carries_earlier_merges_over_to_the_kept_record():
    # given: the duplicate had itself absorbed another record before
    primary, duplicate, older = CustomerFactory(), CustomerFactory(), CustomerFactory()
    first = services.customer_merge(primary=duplicate, duplicate=older)

    # when
    second = services.customer_merge(primary=primary, duplicate=duplicate)

    # then
    assert set(primary.merges.values_list("pk", flat=True)) == {first.pk, second.pk}


def test_customer_merge_refuses_to_merge_a_customer_into_itself():
    # given
    customer = CustomerFactory()
    NoteFactory(customer=customer)

    # when / then
    with pytest.raises(ValidationError):
        services.customer_merge(primary=customer, duplicate=Customer.objects.get(pk=customer.pk))
    assert Customer.objects.filter(pk=customer.pk).exists()
    assert not CustomerMerge.objects.exists()


# --- keyset pagination ---------------------------------------------------------------------------


@pytest.fixture
def crowded_table():
    """17 customers with many ties: five share a creation time, names and activity times repeat."""
    base = timezone.now().replace(microsecond=0)
    customers = []
    for i in range(17):
        customer = Customer(
            family_name=["Sato", "Suzuki", "Takahashi"][i % 3],
            given_name="" if i % 4 else "Aki",
            email=f"c{i}@example.com",
            created_at=base if i < 5 else base - dt.timedelta(seconds=i // 2),
        )
        customer.derive_fields()
        customers.append(customer)
    Customer.objects.bulk_create(customers)
    for i, customer in enumerate(customers):
        activity_set(customer, base - dt.timedelta(hours=i % 4))
    return Customer.objects.all()


def walk_forward(queryset, ordering, size):
    pages, cursor = [], ""
    while True:
        page = keyset_page(queryset, ordering, after=cursor, size=size)
        pages.append(page)
        if not page.has_next:
            return pages
        cursor = page.next_cursor


def walk_backward(queryset, ordering, size, last_page):
    pages, page = [last_page], last_page
    while page.has_previous:
        page = keyset_page(queryset, ordering, before=page.previous_cursor, size=size)
        pages.insert(0, page)
    return pages


@pytest.mark.parametrize("sort", CUSTOMER_ORDERINGS)
@pytest.mark.parametrize("size", [1, 3, 5, 17, 50])
def test_keyset_pages_walk_the_whole_table_without_gaps_or_repeats(crowded_table, sort, size):
    # given: the table in the order the list shows it
    crowded_table, ordering = crowded_table.ordered_for_list(sort)
    expected = list(crowded_table.order_by(*ordering.order_by()).values_list("pk", flat=True))

    # when: a user follows "Next" from the first page to the last, then "Previous" back to the first
    forward = walk_forward(crowded_table, ordering, size)
    backward = walk_backward(crowded_table, ordering, size, forward[-1])

    # then: each way, every customer is seen exactly once, in order, on pages of the requested size
    assert [c.pk for page in forward for c in page] == expected
    assert [c.pk for page in backward for c in page] == expected
    assert all(len(page) == size for page in forward[:-1])
    assert [len(p) for p in backward] == [len(p) for p in forward]
    assert not forward[0].has_previous
    assert not backward[0].has_previous


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!!",
        "bm90IGpzb24",  # "not json"
        base64.urlsafe_b64encode(b'[{"x": 1}, 3]').decode(),
        base64.urlsafe_b64encode(b'["2024-01-01", "12"]').decode(),
        base64.urlsafe_b64encode(b'[{"dt": "not a date"}, 3]').decode(),
        base64.urlsafe_b64encode(b"[1, 2, 3]").decode(),
        "%00",
    ],
)
def test_a_garbage_cursor_gives_the_first_page(crowded_table, cursor):
    # given
    ordering = CUSTOMER_ORDERINGS["-created"]
    first = keyset_page(crowded_table, ordering, size=5)

    # when
    after = keyset_page(crowded_table, ordering, after=cursor, size=5)
    before = keyset_page(crowded_table, ordering, before=cursor, size=5)

    # then
    assert [c.pk for c in after] == [c.pk for c in first]
    assert [c.pk for c in before] == [c.pk for c in first]
    assert not after.has_previous


def test_tag_save_refuses_the_csv_tag_separators():
    with pytest.raises(ValidationError, match="cannot contain"):
        services.tag_save(name="VIP;Gold")


def test_tag_links_carry_the_customers_created_at_for_the_tag_index():
    # given: customers tagged through every kind of writer (tags.add, a COPY-like bulk insert)
    vip = Tag.objects.create(name="VIP")
    older = CustomerFactory(created_at=timezone.now() - dt.timedelta(days=400))
    newer = CustomerFactory()
    older.tags.add(vip)
    Customer.tags.through.objects.bulk_create([Customer.tags.through(customer=newer, tag=vip)])

    # when: a merge moves the kept record's created_at back in time
    merged = services.customer_merge(primary=newer, duplicate=older)

    # then: the copy follows, so "VIP customers, newest first" reads the tag's index in the right order
    links = Customer.tags.through.objects.filter(tag=vip)
    assert [(link.customer_id, link.customer_created_at) for link in links] == [
        (merged.customer_id, Customer.objects.get(pk=merged.customer_id).created_at)
    ]


def test_tag_filtered_list_pages_newest_first_without_gaps():
    # given: 7 tagged customers created a day apart and 3 untagged ones
    vip = Tag.objects.create(name="VIP")
    now = timezone.now()
    tagged = [CustomerFactory(created_at=now - dt.timedelta(days=n)) for n in range(7)]
    for customer in tagged:
        customer.tags.add(vip)
    for n in range(3):
        CustomerFactory(created_at=now - dt.timedelta(days=n, hours=1))

    # when: walking the list filtered by the tag, three at a time
    qs, ordering = Customer.objects.filter_by(tag=vip.pk).ordered_for_list("-created", tag=vip.pk)
    seen, cursor = [], ""
    while True:
        page = keyset_page(qs, ordering, after=cursor, size=3)
        seen += [c.pk for c in page.rows]
        if not page.has_next:
            break
        cursor = page.next_cursor

    # then
    assert seen == [c.pk for c in tagged]
