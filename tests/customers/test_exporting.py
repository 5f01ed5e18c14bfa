import csv
import datetime
import io

import pytest
from django.urls import reverse

from customers.exporting import customer_csv_chunks
from customers.importing import COLUMNS, import_batch_apply, import_batch_create
from customers.models import Customer, ImportBatch
from tests.factories import CustomerFactory, TagFactory, UserFactory

pytestmark = pytest.mark.django_db


def export_bytes(queryset=None) -> bytes:
    chunks = customer_csv_chunks(queryset if queryset is not None else Customer.objects.all())
    return b"".join(c if isinstance(c, bytes) else c.encode() for c in chunks)


def read_rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"), newline="")))


def test_export_as_manager_is_utf8_with_bom_crlf_and_the_import_columns(manager_client):
    # given
    customer = CustomerFactory(
        family_name="山田", given_name="太郎", phone="+819012345678", birth_date=datetime.date(1980, 2, 29)
    )
    customer.tags.add(TagFactory(name="VIP"), TagFactory(name="お得意様"))
    customer.owner = UserFactory(username="tanaka")
    customer.save()

    # when
    response = manager_client.get(reverse("customers:export"))

    # then
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="customers-')
    content = b"".join(response.streaming_content)
    assert content.startswith(b"\xef\xbb\xbf" + ",".join(COLUMNS).encode() + b"\r\n")
    assert content.count(b"\r\n") == 2 and b"\n" not in content.replace(b"\r\n", b"")
    (row,) = read_rows(content)
    assert (row["family_name"], row["given_name"], row["birth_date"]) == ("山田", "太郎", "1980-02-29")
    assert row["phone"] == "'+819012345678"  # neutralised like any cell starting with +
    assert row["tags"] == "VIP;お得意様"
    assert row["owner"] == "tanaka"
    assert (row["marketing_consent"], row["do_not_contact"], row["country"]) == ("false", "false", "JP")


def test_export_neutralises_cells_a_spreadsheet_would_run_as_formulas():
    CustomerFactory(
        family_name='=HYPERLINK("http://evil.example","x")',
        given_name="+1",
        company="@SUM(A1)",
        city="-2",
        address_line1="\tcmd",
        address_line2="\rcmd",
        region="Safe = fine",
    )

    (row,) = read_rows(export_bytes())

    assert row["family_name"] == '\'=HYPERLINK("http://evil.example","x")'
    assert (row["given_name"], row["company"], row["city"]) == ("'+1", "'@SUM(A1)", "'-2")
    assert (row["address_line1"], row["address_line2"]) == ("'\tcmd", "'\rcmd")
    assert row["region"] == "Safe = fine"


def test_export_contains_only_the_customers_the_list_search_finds(manager_client):
    CustomerFactory(family_name="Nakamura", email="n@example.com")
    CustomerFactory(family_name="Ogawa", email="o@example.com")

    response = manager_client.get(reverse("customers:export"), {"q": "nakamura"})

    rows = read_rows(b"".join(response.streaming_content))
    assert [r["family_name"] for r in rows] == ["Nakamura"]


@pytest.mark.parametrize("client_fixture", ["support_client", "marketing_client"])
def test_export_is_forbidden_for_support_and_marketing(request, client_fixture):
    CustomerFactory()
    client = request.getfixturevalue(client_fixture)

    assert client.get(reverse("customers:export")).status_code == 403


def test_export_queries_do_not_grow_with_the_rows(django_assert_num_queries):
    def make(n: int) -> None:
        owner = UserFactory()
        tag = TagFactory()
        for _ in range(n):
            customer = CustomerFactory(owner=owner)
            customer.tags.add(tag)

    make(3)
    with django_assert_num_queries(2) as few:
        export_bytes()
    make(60)
    with django_assert_num_queries(2):
        rows = read_rows(export_bytes())
    assert len(rows) == 63
    assert len(few.captured_queries) == 2  # the customers with their owners, and their tags


def test_export_then_import_recreates_the_same_customers():
    # given: customers with every column filled, and tricky values
    owner = UserFactory(username="sato")
    first = CustomerFactory(
        external_id="R-1",
        email="r1@example.com",
        family_name="佐藤",
        given_name="花子",
        family_name_kana="サトウ",
        given_name_kana="ハナコ",
        phone="+819012345678",
        birth_date=datetime.date(1985, 4, 3),
        company='=cmd|" /C calc"!A0',
        postal_code="100-0001",
        region="東京都",
        city="千代田区",
        address_line1="千代田1-1",
        address_line2="line, with comma\nand a newline",
        country="JP",
        preferred_channel="line",
        preferred_language="ja",
        source="store",
        marketing_consent=True,
        consent_evidence="form v2",
        do_not_contact=False,
        owner=owner,
    )
    first.tags.add(TagFactory(name="VIP"), TagFactory(name="Newsletter"))
    CustomerFactory(
        external_id="R-2", family_name="Minimal", given_name="", email="", do_not_contact=True, source="web"
    )
    fields = [c for c in COLUMNS if c not in ("tags", "owner")] + ["owner_id"]

    def snapshot() -> list[tuple]:
        return sorted(
            (*(getattr(c, f) for f in fields), tuple(sorted(t.name for t in c.tags.all())))
            for c in Customer.objects.prefetch_related("tags")
        )

    before = snapshot()
    content = export_bytes()

    # when: re-imported onto the same customers, nothing changes
    batch = import_batch_create(file_name="export.csv", content=content, by=None)
    assert batch.errors == [] and (batch.created_count, batch.updated_count) == (0, 2)
    import_batch_apply(batch=batch, by=None)
    assert snapshot() == before

    # and: imported into an empty table, the same customers come back
    Customer.objects.all().delete()
    batch = import_batch_create(file_name="export.csv", content=content, by=None)
    assert batch.status == ImportBatch.Status.PREVIEWED and batch.created_count == 2
    import_batch_apply(batch=batch, by=None)
    assert snapshot() == before


def test_export_streams_in_chunks_with_one_tag_query_per_chunk(django_assert_num_queries):
    # given: more customers than one chunk, most with tags
    lines = ["external_id,family_name,tags"] + [f"C-{i},Chunk{i},{'a;b' if i % 4 else ''}" for i in range(2100)]
    batch = import_batch_create(file_name="x.csv", content=("\n".join(lines) + "\n").encode(), by=None)
    import_batch_apply(batch=batch, by=None)

    # when: two chunks of 2,000 rows: the customers' query, and one tags query per chunk
    with django_assert_num_queries(3):
        chunks = list(customer_csv_chunks(Customer.objects.order_by("external_id")))

    # then
    rows = read_rows(b"".join(chunks))
    assert len(rows) == 2100 and len(chunks) > 2
    assert rows[1]["external_id"] == "C-1" and rows[1]["tags"] == "a;b"
    assert rows[0]["tags"] == ""
