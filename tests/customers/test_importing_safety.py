"""Imports that lose nothing and leak nothing: strict decoding, a size limit, a plan checked again when
applied, and uploads deleted after their retention and with the customer's erasure."""

import datetime
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from customers.importing import import_batch_apply, import_batch_create, matching, streaming
from customers.models import Customer, ImportBatch
from customers.services import customer_delete, import_batches_purge
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

HEADER = "external_id,email,family_name,given_name"


def test_a_utf8_file_with_one_stray_byte_is_refused_naming_line_and_byte_not_read_as_shift_jis():
    # given: Japanese names in UTF-8, and one damaged byte on line 3 (the whole file decodes as cp932)
    content = f"{HEADER}\nA1,a@example.com,山田,山田\nA2,b@example.com,山田,".encode() + b"\xb1" + "山田\n".encode()
    content.decode("cp932")  # the trap: it would be read as Shift_JIS, with garbled names

    # when
    batch = import_batch_create(file_name="damaged.csv", content=content, by=None)

    # then
    assert batch.status == ImportBatch.Status.INVALID
    assert batch.errors[0]["line"] == 3
    assert "not valid UTF-8" in batch.errors[0]["errors"][0]
    assert "byte 25 of line 3" in batch.errors[0]["errors"][0]
    assert Customer.objects.count() == 0


def test_a_shift_jis_file_is_still_read_and_the_preview_names_the_encoding():
    content = f"{HEADER}\nA1,a@example.com,髙橋,花子\n".encode("cp932")
    batch = import_batch_create(file_name="sjis.csv", content=content, by=None)
    assert (batch.status, batch.encoding) == ("previewed", "cp932")


def test_a_file_above_the_limit_is_refused_before_it_is_read(settings):
    settings.TSUNAGU_IMPORT_MAX_BYTES = 100
    content = (f"{HEADER}\n" + "A1,a@example.com,Yamada,Taro\n" * 10).encode()
    with pytest.raises(ValidationError, match="too large"):
        import_batch_create(file_name="big.csv", content=content, by=None)
    assert not ImportBatch.objects.exists()


def test_apply_refuses_when_a_customer_was_created_since_the_preview_and_shows_the_new_preview():
    # given: a preview that creates two customers
    content = f"{HEADER}\nA1,a@example.com,Yamada,Taro\nA2,b@example.com,Sato,Hanako\n".encode()
    batch = import_batch_create(file_name="c.csv", content=content, by=None)
    assert (batch.created_count, batch.updated_count) == (2, 0)
    # when: someone creates one of them meanwhile, then the preview is applied
    CustomerFactory(email="b@example.com", external_id="")
    with pytest.raises(ValidationError, match="changed since the preview"):
        import_batch_apply(batch=batch, by=None)
    # then: nothing was written, and the batch now shows the new plan, which can be applied
    batch.refresh_from_db()
    assert Customer.objects.count() == 1
    assert (batch.status, batch.created_count, batch.updated_count) == ("previewed", 1, 1)
    import_batch_apply(batch=batch, by=None)
    assert Customer.objects.count() == 2


def test_apply_refuses_when_a_matched_customer_was_edited_since_the_preview():
    customer = CustomerFactory(email="a@example.com", external_id="A1")
    batch = import_batch_create(file_name="c.csv", content=f"{HEADER}\nA1,a@example.com,New,Name\n".encode(), by=None)
    Customer.objects.filter(pk=customer.pk).update(updated_at=timezone.now() + datetime.timedelta(seconds=1))
    with pytest.raises(ValidationError, match="changed since the preview"):
        import_batch_apply(batch=batch, by=None)
    customer.refresh_from_db()
    assert customer.family_name != "New"


@pytest.mark.parametrize("chunk_rows", [1, 2, 5000])
def test_a_change_found_in_a_later_chunk_rolls_back_the_chunks_already_written(chunk_rows):
    # given: a preview of five new customers; the last one is created by someone else meanwhile
    rows = "".join(f"A{n},c{n}@example.com,Yamada,Taro{n}\n" for n in range(1, 6))
    batch = import_batch_create(file_name="c.csv", content=f"{HEADER}\n{rows}".encode(), by=None)
    CustomerFactory(email="c5@example.com", external_id="")
    # when: applied a chunk at a time (the change is found after the first chunks were written)
    with pytest.raises(ValidationError, match="changed since the preview"):
        import_batch_apply(batch=batch, by=None, chunk_rows=chunk_rows)
    # then: nothing of the file was written, and the new preview says one row now updates
    batch.refresh_from_db()
    assert list(Customer.objects.values_list("email", flat=True)) == ["c5@example.com"]
    assert (batch.status, batch.created_count, batch.updated_count) == ("previewed", 4, 1)
    # and applied again in chunks, it writes every row once
    import_batch_apply(batch=batch, by=None, chunk_rows=chunk_rows)
    assert Customer.objects.count() == 5
    assert sorted(Customer.objects.values_list("external_id", flat=True)) == ["A1", "A2", "A3", "A4", "A5"]


def test_two_rows_in_different_chunks_updating_one_customer_are_refused():
    # given: two rows matching different customers at preview; then one customer takes the other's email key
    first = CustomerFactory(email="x@example.com", external_id="")
    CustomerFactory(email="y@example.com", external_id="B2")
    content = f"{HEADER}\n,x@example.com,Ito,Ichiro\nB2,,Ito,Jiro\n".encode()
    batch = import_batch_create(file_name="c.csv", content=content, by=None)
    assert (batch.status, batch.updated_count) == ("previewed", 2)
    Customer.objects.filter(external_id="B2").update(external_id="")
    Customer.objects.filter(pk=first.pk).update(external_id="B2", updated_at=timezone.now())
    # when: applied one row per chunk
    with pytest.raises(ValidationError, match="changed since the preview"):
        import_batch_apply(batch=batch, by=None, chunk_rows=1)
    # then: both rows are named, nothing written
    batch.refresh_from_db()
    assert batch.status == "invalid" and {e["line"] for e in batch.errors} == {2, 3}
    assert not Customer.objects.filter(family_name="Ito").exists()


def test_uploads_are_deleted_after_the_retention_period(settings):
    settings.TSUNAGU_IMPORT_RETENTION_DAYS = 3
    content = f"{HEADER}\nA1,a@example.com,Yamada,Taro\n".encode()
    old = import_batch_create(file_name="old.csv", content=content, by=None)
    recent = import_batch_create(file_name="new.csv", content=content, by=None)
    ImportBatch.objects.filter(pk=old.pk).update(created_at=timezone.now() - datetime.timedelta(days=4))
    assert import_batches_purge() == 1
    assert import_batches_purge() == 0  # twice changes nothing
    assert list(ImportBatch.objects.values_list("pk", flat=True)) == [recent.pk]


def test_erasing_a_customer_deletes_the_uploads_that_hold_their_rows():
    # given: an applied import that created the customer, and a pending preview that updates them
    content = f"{HEADER}\nA1,a@example.com,Yamada,Taro\n".encode()
    applied = import_batch_apply(batch=import_batch_create(file_name="a.csv", content=content, by=None), by=None)
    pending = import_batch_create(file_name="b.csv", content=content, by=None)
    other = import_batch_create(file_name="o.csv", content=f"{HEADER}\nZ9,z@example.com,Other,One\n".encode(), by=None)
    customer = Customer.objects.get(external_id="A1")
    # when
    customer_delete(customer=customer)
    # then: the applied import keeps its record but not the file; the preview is gone; others stay
    applied.refresh_from_db()
    assert bytes(applied.content) == b"" and applied.created_count == 1
    assert not ImportBatch.objects.filter(pk=pending.pk).exists()
    assert bytes(ImportBatch.objects.get(pk=other.pk).content) != b""


def test_the_streamed_preview_says_what_validating_the_whole_file_says_across_chunks():
    # given: repeated keys and a customer updated twice, on lines that fall in different chunks of two rows
    CustomerFactory(email="old@example.com", external_id="")
    content = (
        f"{HEADER}\n"
        "A1,a@example.com,Yamada,Taro\n"
        "A2,old@example.com,Sato,Hanako\n"
        "A3,c@example.com,Suzuki,Ichiro\n"
        "A1,d@example.com,Tanaka,Jiro\n"
        ",OLD@example.com,Kato,Saburo\n"
        "A6,f@example.com,,\n"
        "A7,g@example.com,Ito,Shiro\n"
    ).encode()
    # when
    summary = streaming.preview(content, chunk_rows=2)
    plan = matching.validate(content)
    # then
    assert {e["line"]: sorted(e["errors"]) for e in summary.errors} == {
        e["line"]: sorted(e["errors"]) for e in plan.errors
    }
    assert {e["line"] for e in summary.errors} == {2, 3, 5, 6, 7}
    assert (summary.row_count, summary.created_count, summary.updated_count) == (7, 2, 0)
    assert (len(plan.rows), len(plan.created), len(plan.updated)) == (7, 2, 0)


def _big_file(path, rows: int, *, tags: bool = True) -> None:
    with path.open("w", encoding="utf-8") as file:
        file.write("external_id,email,family_name,given_name,family_name_kana,phone,birth_date,city,tags\n")
        line = "EXT-{0:07d},user{0}@example.com,山田{0},太郎,ヤマダ,090-1234-{1:04d},1985-04-03,東京都千代田区," + (
            "VIP;News\n" if tags else "\n"
        )
        for n in range(rows):
            file.write(line.format(n, n % 10000))


def _peak_memory(path, *args: str) -> tuple[int, int]:
    """Peak MB and rows of tests/customers/import_memory.py run on ``path`` in a fresh process, on the test DB."""
    db = connection.settings_dict
    url = (
        f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    result = subprocess.run(  # noqa: S603 (our own module, with the running interpreter)
        [sys.executable, "-m", "tests.customers.import_memory", str(path), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=settings.BASE_DIR,
        timeout=900,
        check=True,
    )
    peak_mb, rows = map(int, result.stdout.split()[-2:])
    return peak_mb, rows


def test_a_50_mb_preview_stays_within_a_bounded_memory(tmp_path):
    # given: a 50 MB file (440,000 customers)
    path = tmp_path / "big.csv"
    _big_file(path, 440_000)
    assert path.stat().st_size > 50_000_000
    # when: previewed in a fresh process, on the test database
    peak_mb, rows = _peak_memory(path)
    # then: the file itself (50 MB) and what the preview keeps, not every row (was 658 MB)
    assert rows == 440_000
    assert peak_mb < 200, peak_mb


@pytest.mark.django_db(transaction=True)
def test_applying_a_large_file_holds_one_chunk_not_the_file(tmp_path):
    # given: 30,000 new customers (3 MB)
    path = tmp_path / "big.csv"
    _big_file(path, 30_000, tags=False)
    # when: previewed, stored and applied in a fresh process (rolled back at the end)
    peak_mb, created = _peak_memory(path, "--apply")
    # then
    assert created == 30_000
    assert peak_mb < 60, peak_mb
