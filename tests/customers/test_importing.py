import datetime
from io import StringIO
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from customers.importing import COLUMNS, import_batch_apply, import_batch_create, import_preview_rows, matching, writing
from customers.models import Customer, ImportBatch, Tag
from tests.factories import CustomerFactory, TagFactory, UserFactory

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def csv_bytes(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode("utf-8")


def preview_and_apply(content: bytes, *, by=None, file_name: str = "customers.csv") -> ImportBatch:
    batch = import_batch_create(file_name=file_name, content=content, by=by)
    assert batch.errors == []
    assert batch.status == ImportBatch.Status.PREVIEWED
    return import_batch_apply(batch=batch, by=by)


def error_lines(batch: ImportBatch) -> dict[int, list[str]]:
    return {entry["line"]: entry["errors"] for entry in batch.errors}


# --- A good file --------------------------------------------------------------------------------------


def test_import_creates_new_customers_and_updates_matched_ones(manager):
    # given: one customer matched by external ID, one by email in another case, and a staff owner
    by_ext = CustomerFactory(external_id="POS-1001", family_name="Old", email="", phone="+819099999999")
    by_email = CustomerFactory(
        email="taro.yamada@example.com", family_name="Yamada", given_name="T", family_name_kana="ヤマダ", city="Osaka"
    )
    by_email.tags.add(TagFactory(name="Old tag"))
    vip = TagFactory(name="vip")

    # when
    batch = import_batch_create(file_name="customers_good.csv", content=fixture("customers_good.csv"), by=manager)

    # then: the preview counts what applying will do, and nothing is written yet
    assert (batch.status, batch.row_count, batch.created_count, batch.updated_count) == ("previewed", 3, 1, 2)
    assert batch.encoding == "utf-8"
    assert Customer.objects.count() == 2

    batch = import_batch_apply(batch=batch, by=manager)

    assert (batch.status, batch.created_count, batch.updated_count) == ("applied", 1, 2)
    assert batch.applied_at is not None
    by_ext.refresh_from_db()
    assert (by_ext.family_name, by_ext.given_name, by_ext.email) == ("Sato", "Hanako", "hanako@example.com")
    assert by_ext.phone == "+819012345678"
    assert by_ext.birth_date == datetime.date(1985, 4, 3)
    assert by_ext.owner == manager
    assert by_ext.source == "store"
    assert {t.name for t in by_ext.tags.all()} == {"Newsletter", "vip"}  # an existing tag, ignoring case
    assert by_ext.marketing_consent and by_ext.consent_source == "import"
    assert by_ext.consent_evidence == "store sign-up form v2"
    assert "hanako" in by_ext.search_text and by_ext.name_sort == "サトウ ハナコ"

    new = Customer.objects.get(external_id="POS-1002")
    assert (new.family_name, new.phone, new.birth_date) == ("Suzuki", "+81312345678", datetime.date(1990, 12, 31))
    assert (new.country, new.preferred_channel, new.preferred_language) == ("JP", "phone", "en")
    assert new.source == Customer.Source.IMPORT
    assert new.do_not_contact is True and new.marketing_consent is False
    assert {t.name for t in new.tags.all()} == {"vip", "Wholesale"}
    assert Tag.objects.filter(name__iexact="vip").get() == vip

    by_email.refresh_from_db()
    assert (by_email.family_name, by_email.given_name) == ("Yamada", "Taro")
    assert (by_email.family_name_kana, by_email.city) == ("", "")  # present but empty: cleared
    assert list(by_email.tags.all()) == []


def test_import_update_leaves_absent_columns_alone_and_keeps_family_name_on_empty_cell():
    # given
    customer = CustomerFactory(
        external_id="K-1", family_name="Kato", given_name="Ken", company="Kato Ltd", city="Nagoya", country="JP"
    )
    customer.tags.add(TagFactory(name="keep"))

    # when: only given_name, family_name (empty) and city (empty) are in the file
    preview_and_apply(csv_bytes("external_id,family_name,given_name,city", "K-1,,Kenji,"))

    # then
    customer.refresh_from_db()
    assert (customer.family_name, customer.given_name, customer.city) == ("Kato", "Kenji", "")
    assert (customer.company, customer.country) == ("Kato Ltd", "JP")
    assert [t.name for t in customer.tags.all()] == ["keep"]
    assert "kenji" in customer.search_text


def test_import_gives_an_external_id_to_the_customer_with_that_email():
    customer = CustomerFactory(email="shop@example.com", external_id="")

    batch = preview_and_apply(csv_bytes("external_id,email", "POS-9,SHOP@example.com"))

    customer.refresh_from_db()
    assert customer.external_id == "POS-9"
    assert (batch.created_count, batch.updated_count) == (0, 1)


def test_import_consent_on_a_new_row_is_dated_and_carries_the_file_as_evidence():
    before = datetime.datetime.now(tz=datetime.UTC)

    preview_and_apply(
        csv_bytes("email,family_name,marketing_consent", "a@example.com,Abe,はい", "b@example.com,Baba,0"),
        file_name="spring-fair.csv",
    )

    abe = Customer.objects.get(email="a@example.com")
    assert abe.marketing_consent and abe.consent_at >= before
    assert (abe.consent_source, abe.consent_evidence) == ("import", "CSV import spring-fair.csv")
    baba = Customer.objects.get(email="b@example.com")
    assert (baba.marketing_consent, baba.consent_at, baba.consent_source) == (False, None, "")


def test_import_consent_change_on_update_is_dated_and_a_standing_opt_in_keeps_its_proof():
    CustomerFactory(email="gives@example.com", marketing_consent=False)
    withdrawn = CustomerFactory(email="stops@example.com", marketing_consent=True, consent_evidence="form v1")
    kept = CustomerFactory(email="keeps@example.com", marketing_consent=True, consent_evidence="form v1")

    preview_and_apply(
        csv_bytes(
            "email,marketing_consent,consent_evidence",
            "gives@example.com,true,",
            "stops@example.com,false,",
            "keeps@example.com,true,",
        )
    )

    gives = Customer.objects.get(email="gives@example.com")
    assert gives.marketing_consent and gives.consent_at and gives.consent_source == "import"
    assert gives.consent_evidence.startswith("CSV import")
    withdrawn.refresh_from_db()
    assert withdrawn.marketing_consent is False and withdrawn.consent_at is not None
    kept.refresh_from_db()
    assert kept.marketing_consent and kept.consent_evidence == "form v1"


def test_import_unescapes_cells_an_export_protected_against_formulas():
    preview_and_apply(csv_bytes("family_name,phone,company", "Ito,'+81 90 1234 5678,'=SUM(A1)"))

    customer = Customer.objects.get(family_name="Ito")
    assert (customer.phone, customer.company) == ("+819012345678", "=SUM(A1)")


# --- Encodings ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "encoding"), [("customers_utf8_bom.csv", "utf-8-sig"), ("customers_shift_jis.csv", "cp932")]
)
def test_import_reads_japanese_names_from_bom_utf8_and_shift_jis(name, encoding):
    batch = preview_and_apply(fixture(name), file_name=name)

    assert batch.encoding == encoding
    taro = Customer.objects.get(external_id="JP-1")
    assert (taro.family_name, taro.given_name, taro.family_name_kana) == ("山田", "太郎", "ヤマダ")
    assert [t.name for t in taro.tags.all()] == ["お得意様"]
    hanako = Customer.objects.get(external_id="JP-2")
    assert hanako.family_name == "髙橋"  # a cp932 (not plain Shift_JIS) character
    assert [t.name for t in hanako.tags.all()] == ["①新規"]


def test_import_reports_a_file_that_is_not_text():
    batch = import_batch_create(file_name="x.csv", content=b"\x81\x00\xff\xfe binary", by=None)

    assert batch.status == ImportBatch.Status.INVALID
    assert batch.errors[0]["line"] == 1


# --- Bad files ----------------------------------------------------------------------------------------


def test_import_reports_every_bad_line_and_writes_nothing():
    # given: a customer whose email a row of the file would steal
    CustomerFactory(email="ok@example.com", external_id="SOMEONE-ELSE")
    count = Customer.objects.count()

    # when
    batch = import_batch_create(file_name="customers_bad.csv", content=fixture("customers_bad.csv"), by=None)

    # then: each bad line by its physical line number (the quoted cell on line 6 spans two lines)
    errors = error_lines(batch)
    assert batch.status == ImportBatch.Status.INVALID
    assert sorted(errors) == [2, 3, 4, 5, 8, 9, 10, 11]
    assert any(e.startswith("email:") and "another external ID" in e for e in errors[2])
    assert any("also on line 11" in e for e in errors[2])
    assert errors[3] == ["email: Enter a valid email address."]
    assert errors[4] == ["phone: Enter a valid phone number."]
    assert errors[5] == ["birth_date: Enter a date as YYYY-MM-DD or YYYY/MM/DD."]
    assert errors[8] == ["family_name: This column is required for a new customer."]
    assert errors[9] == ["email: dup@example.com is also on line 10."]
    assert errors[10] == ["email: dup@example.com is also on line 9."]
    assert errors[11] == ["external_id: B-1 is also on line 2."]

    with pytest.raises(ValidationError):
        import_batch_apply(batch=batch, by=None)
    assert Customer.objects.count() == count


def test_import_rejects_unknown_columns_and_lists_the_accepted_ones():
    batch = import_batch_create(file_name="x.csv", content=csv_bytes("family_name,mobile,E-mail", "Abe,1,2"), by=None)

    assert batch.status == ImportBatch.Status.INVALID
    ((entry),) = batch.errors
    assert entry["line"] == 1
    assert "mobile, e-mail" in entry["errors"][0]
    assert ", ".join(COLUMNS) in entry["errors"][0]


def test_import_rejects_an_email_owned_by_another_customer_than_the_external_id_match():
    CustomerFactory(external_id="E-1", email="one@example.com")
    CustomerFactory(email="two@example.com")

    batch = import_batch_create(
        file_name="x.csv", content=csv_bytes("external_id,email", "E-1,Two@example.com"), by=None
    )

    assert error_lines(batch)[2][0].startswith("email: two@example.com already belongs to another customer")


def test_import_reports_rows_that_update_the_same_customer_twice():
    CustomerFactory(external_id="S-1", email="same@example.com")

    batch = import_batch_create(
        file_name="x.csv", content=csv_bytes("external_id,email,given_name", "S-1,,A", ",same@example.com,B"), by=None
    )

    assert sorted(error_lines(batch)) == [2, 3]


def test_import_reports_ragged_lines_unknown_owners_and_bad_choices():
    UserFactory(username="gone", is_active=False)
    content = csv_bytes(
        "family_name,owner,preferred_channel,marketing_consent,country",
        "Abe,gone,email,true,JP",
        "Baba,,fax,maybe,Japan",
        "Chiba,,email",
        "",
        ",,,,",
    )

    batch = import_batch_create(file_name="x.csv", content=content, by=None)

    errors = error_lines(batch)
    assert sorted(errors) == [2, 3, 4]  # the blank line and the line of empty cells are skipped
    assert "owner: No active staff member has the username gone." in errors[2]
    assert any(e.startswith("marketing_consent: Marketing consent needs an email") for e in errors[2])
    assert [e.split(":")[0] for e in errors[3]] == ["preferred_channel", "marketing_consent", "country"]
    assert errors[4] == ["This line has 3 cells; the header has 5."]


def test_import_reports_broken_quoting_with_its_line():
    batch = import_batch_create(file_name="x.csv", content=csv_bytes("family_name", "Abe", '"Ba"ba'), by=None)

    assert batch.status == ImportBatch.Status.INVALID
    assert [e["line"] for e in batch.errors] == [3]


# --- Apply --------------------------------------------------------------------------------------------


def test_import_apply_twice_applies_once():
    batch = import_batch_create(file_name="x.csv", content=csv_bytes("family_name,tags", "Abe,a;b"), by=None)
    import_batch_apply(batch=batch, by=None)

    with pytest.raises(ValidationError, match="already been applied"):
        import_batch_apply(batch=batch, by=None)

    assert Customer.objects.filter(family_name="Abe").count() == 1
    assert Customer.tags.through.objects.count() == 2


def test_import_apply_revalidates_and_writes_nothing_when_the_database_changed_since_the_preview():
    batch = import_batch_create(
        file_name="x.csv", content=csv_bytes("external_id,email,family_name", "N-1,new@example.com,New"), by=None
    )
    assert batch.status == ImportBatch.Status.PREVIEWED
    CustomerFactory(email="NEW@example.com", external_id="OTHER")  # someone took the email meanwhile

    with pytest.raises(ValidationError):
        import_batch_apply(batch=batch, by=None)

    assert not Customer.objects.filter(external_id="N-1").exists()
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.INVALID
    assert error_lines(batch)[2][0].startswith("email:")


def test_import_validates_and_applies_in_a_constant_number_of_queries(django_assert_max_num_queries):
    owner = UserFactory(username="owner1")
    existing = [CustomerFactory(external_id=f"Q-{i}") for i in range(100)]
    lines = ["external_id,email,family_name,tags,owner"]
    lines += [f"Q-{i},q{i}@example.com,Updated,t{i % 3},owner1" for i in range(100)]
    lines += [f"N-{i},n{i}@example.com,New,t{i % 5};shared,{owner.username}" for i in range(300)]
    content = csv_bytes(*lines)

    with django_assert_max_num_queries(6):
        batch = import_batch_create(file_name="x.csv", content=content, by=None)
    assert (batch.created_count, batch.updated_count) == (300, 100)
    with django_assert_max_num_queries(20):
        import_batch_apply(batch=batch, by=None)

    assert Customer.objects.filter(family_name="Updated").count() == len(existing)
    assert Customer.objects.filter(family_name="New", owner=owner).count() == 300
    assert Customer.objects.get(external_id="N-7").tags.count() == 2


def test_import_preview_rows_show_the_action_and_values_of_the_first_rows():
    CustomerFactory(external_id="P-1")
    rows = [f"X-{i},N{i},," for i in range(30)]
    content = csv_bytes("external_id,family_name,birth_date,tags", "P-1,Abe,1980/1/2,a|b", *rows)
    batch = import_batch_create(file_name="x.csv", content=content, by=None)

    preview = import_preview_rows(batch=batch, limit=5)

    assert len(preview) == 5
    assert preview[0] == {
        "line": 2,
        "action": "update",
        "values": {"external_id": "P-1", "family_name": "Abe", "birth_date": "1980-01-02", "tags": "a; b"},
    }
    assert preview[1]["action"] == "create" and preview[1]["line"] == 3


# --- Views --------------------------------------------------------------------------------------------


def test_import_upload_preview_and_apply_through_the_pages_as_marketing(marketing_client):
    # the upload page documents the columns
    response = marketing_client.get(reverse("customers:import"))
    assert response.status_code == 200
    assert "preferred_channel" in response.content.decode()

    # upload: a batch is previewed, nothing written
    upload = SimpleUploadedFile("fair.csv", csv_bytes("email,family_name,given_name", "mio@example.com,Mori,Mio"))
    response = marketing_client.post(reverse("customers:import"), {"file": upload})
    batch = ImportBatch.objects.get()
    assert response.status_code == 302 and response["Location"] == batch.get_absolute_url()
    assert not Customer.objects.exists()

    # the preview page shows the row and the button
    page = marketing_client.get(batch.get_absolute_url()).content.decode()
    assert "mio@example.com" in page
    assert reverse("customers:import_apply", args=[batch.pk]) in page

    # apply
    response = marketing_client.post(reverse("customers:import_apply", args=[batch.pk]), follow=True)
    assert response.status_code == 200
    assert Customer.objects.get().email == "mio@example.com"
    page = response.content.decode()
    assert reverse("customers:import_apply", args=[batch.pk]) not in page  # no button once applied

    # a second POST (double click, back button) applies nothing more
    marketing_client.post(reverse("customers:import_apply", args=[batch.pk]))
    assert Customer.objects.count() == 1


def test_import_detail_shows_every_error_escaped_and_no_apply_button(marketing_client):
    content = csv_bytes("family_name,email", "Abe,<script>alert(1)</script>", "Baba,bad")
    batch = import_batch_create(file_name="<b>x</b>.csv", content=content, by=None)

    page = marketing_client.get(batch.get_absolute_url()).content.decode()

    assert "<script>alert(1)</script>" not in page and "<b>x</b>" not in page
    assert "&lt;b&gt;x&lt;/b&gt;.csv" in page
    assert page.count("Enter a valid email address.") == 2
    assert reverse("customers:import_apply", args=[batch.pk]) not in page


def test_support_cannot_import(support_client):
    batch = import_batch_create(file_name="x.csv", content=csv_bytes("family_name", "Abe"), by=None)

    assert support_client.get(reverse("customers:import")).status_code == 403
    upload = SimpleUploadedFile("x.csv", csv_bytes("family_name", "Abe"))
    assert support_client.post(reverse("customers:import"), {"file": upload}).status_code == 403
    assert support_client.get(batch.get_absolute_url()).status_code == 403
    assert support_client.post(reverse("customers:import_apply", args=[batch.pk])).status_code == 403
    assert not Customer.objects.exists()
    assert ImportBatch.objects.count() == 1


# --- Management command -------------------------------------------------------------------------------


def test_import_customers_command_imports_and_prints_the_counts(manager):
    out = StringIO()

    call_command("import_customers", str(FIXTURES / "customers_good.csv"), user="manager", stdout=out)

    assert "3 rows: 3 created, 0 updated" in out.getvalue()
    assert Customer.objects.count() == 3
    assert ImportBatch.objects.get().created_by == manager


def test_import_customers_command_dry_run_writes_nothing():
    out = StringIO()

    call_command("import_customers", str(FIXTURES / "customers_shift_jis.csv"), "--dry-run", stdout=out)

    assert "would create 2, update 0" in out.getvalue()
    assert not Customer.objects.exists() and not ImportBatch.objects.exists()


def test_import_customers_command_prints_every_error_and_fails():
    err = StringIO()

    with pytest.raises(CommandError, match="8 lines have errors"):
        call_command("import_customers", str(FIXTURES / "customers_bad.csv"), stdout=StringIO(), stderr=err)

    printed = err.getvalue()
    assert "line 3: email: Enter a valid email address." in printed
    assert "line 8: family_name: This column is required for a new customer." in printed
    assert not Customer.objects.exists()


def test_import_apply_turns_a_concurrent_clash_into_an_error_and_writes_nothing(monkeypatch):
    # given: a previewed file, and a customer that takes one of its emails after the apply's own check
    batch = import_batch_create(
        file_name="x.csv", content=csv_bytes("email,family_name", "a@example.com,Abe", "b@example.com,Baba"), by=None
    )
    CustomerFactory(email="b@example.com")
    monkeypatch.setattr(matching, "_existing_customers", lambda plan, for_update: ({}, {}))  # the check misses it

    # when / then
    with pytest.raises(ValidationError, match="meanwhile"):
        import_batch_apply(batch=batch, by=None)
    assert not Customer.objects.filter(email="a@example.com").exists()
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.PREVIEWED


def test_import_writes_the_same_rows_with_bulk_create_where_copy_is_unavailable(monkeypatch, manager):
    monkeypatch.setattr(writing, "_copy_supported", lambda model: False)  # as on SQLite
    CustomerFactory(external_id="U-1")

    batch = preview_and_apply(
        fixture("customers_good.csv").replace(b"POS-1001", b"U-1"), file_name="customers_good.csv"
    )

    assert (batch.created_count, batch.updated_count) == (2, 1)
    new = Customer.objects.get(external_id="POS-1002")
    assert new.name_sort == "suzuki ichiro" and {t.name for t in new.tags.all()} == {"VIP", "Wholesale"}
    assert Customer.objects.get(email="taro.yamada@example.com").source == Customer.Source.IMPORT


def test_customers_created_after_an_import_get_fresh_ids():
    preview_and_apply(csv_bytes("family_name", "Abe", "Baba"))
    imported = set(Customer.objects.values_list("pk", flat=True))

    later = CustomerFactory()

    assert later.pk not in imported and later.pk > max(imported)
