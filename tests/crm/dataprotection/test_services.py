"""The privacy requests' services: the disclosure holds everything, the erasure leaves nothing personal and every
figure true, and running either again changes nothing."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Sum

from crm.audit.models import CustomerEvent, NoteEvent
from crm.dataprotection import services
from crm.dataprotection.disclosure import SECTIONS
from crm.dataprotection.erasure import ERASED
from crm.dataprotection.models import DataRequest
from customers.models import Customer, CustomerMerge, ImportBatch, Note
from feedback.models import Survey, Ticket, TicketMessage
from loyalty.models import LedgerEntry
from tests.crm.dataprotection.conftest import SECRETS
from touchpoints.models import Touchpoint
from touchpoints.outreach.models import OutboundMessage

pytestmark = pytest.mark.django_db


def _archive(full_customer, manager) -> zipfile.ZipFile:
    data_request = services.data_request_record(
        customer=full_customer.customer, kind="disclosure", received_via="email", by=manager
    )
    return zipfile.ZipFile(io.BytesIO(services.disclosure_build(data_request=data_request, by=manager)))


def _all_personal_text() -> str:
    """Every table and history row the erasure must clear, as one text to search."""
    models = [Customer, Note, Touchpoint, Ticket, TicketMessage, OutboundMessage, Survey, ImportBatch, CustomerMerge]
    models += [CustomerEvent, NoteEvent]
    with connection.cursor() as cursor:
        parts = []
        for table in [model._meta.db_table for model in models]:
            cursor.execute(f"SELECT row_to_json(t)::text FROM {table} AS t")  # noqa: S608 (names above)
            parts += [row[0] for row in cursor.fetchall()]
    return "\n".join(parts)


def test_the_disclosure_archive_holds_every_section_as_json_and_csv(full_customer, manager):
    # when
    archive = _archive(full_customer, manager)

    # then: one JSON document and a CSV a section
    names = set(archive.namelist())
    assert names == {"customer.json"} | {f"{s.name}.csv" for s in SECTIONS}
    document = json.loads(archive.read("customer.json"))
    sections = document["sections"]
    assert document["customer_id"] == full_customer.customer.pk
    assert sections["profile"][0]["email"] == "hanako.yamada@example.jp"
    assert sections["profile"][0]["family_name_kana"] == "ヤマダ"
    assert sections["consent"][0]["consent_evidence"] == "Signed up on the shop form"
    assert {"Yamada Tea"} <= {row["company"] for row in sections["consent_history"]}  # the change was recorded
    assert {"Note on the old record", "Secret note about the allergy"} <= {row["body"] for row in sections["notes"]}
    assert sections["merges"][0]["merged_data"]["email"] == "hanako.old@example.jp"
    assert [row["tag__name"] for row in sections["tags"]] == ["VIP"]
    assert "Phoned about her order of green tea" in [row["summary"] for row in sections["touchpoints"]]
    assert "ORD-1" in [row["order_reference"] for row in sections["touchpoints"]]
    assert [row["subject"] for row in sections["tickets"]] == ["The kettle lid does not close"]
    assert "We will send a replacement lid" in [row["body"] for row in sections["ticket_messages"]]
    assert "Thank you Hanako, here is your receipt" in [row["body"] for row in sections["outbound_messages"]]
    assert sorted(row["points"] for row in sections["ledger"]) == [-20, 120]
    assert [row["voucher_code"] for row in sections["redemptions"]] == ["TEA-0001"]
    assert [row["kind"] for row in sections["greetings"]] == ["birthday"]
    assert [(row["score"], row["comment"]) for row in sections["surveys"]] == [(9, "The tea was lovely")]
    assert sections["memberships"][0]["member_number"] == full_customer.membership.member_number
    # and: the CSVs hold the same rows, Excel-safe (a BOM), Japanese intact
    notes = list(csv.DictReader(io.StringIO(archive.read("notes.csv").decode("utf-8-sig"))))
    assert "Secret note about the allergy" in [row["body"] for row in notes]
    profile = list(csv.DictReader(io.StringIO(archive.read("profile.csv").decode("utf-8-sig"))))
    assert profile[0]["given_name_kana"] == "ハナコ"


def test_a_download_completes_the_request_and_counts(full_customer, manager):
    data_request = services.data_request_record(
        customer=full_customer.customer, kind="disclosure", received_via="phone", by=manager
    )
    services.disclosure_build(data_request=data_request, by=manager)
    services.disclosure_build(data_request=data_request, by=manager)
    data_request.refresh_from_db()
    assert data_request.status == DataRequest.Status.COMPLETED and data_request.completed_at is not None
    assert data_request.outcome == {"downloads": 2}


def test_erasure_leaves_nothing_personal_and_keeps_sums_and_counts(full_customer, manager):
    # given
    customer = full_customer.customer
    before_text = _all_personal_text()
    assert all(secret in before_text for secret in SECRETS)
    ledger_sum = LedgerEntry.objects.filter(membership__customer=customer).aggregate(s=Sum("points"))["s"]
    amounts = sorted(Touchpoint.objects.filter(customer=customer).values_list("amount", flat=True), key=str)
    counts = (Ticket.objects.filter(customer=customer).count(), TicketMessage.objects.filter(customer=customer).count())
    data_request = services.data_request_record(customer=customer, kind="erasure", received_via="letter", by=manager)

    # when
    done = services.customer_erase(data_request=data_request, confirmation=str(customer.pk), by=manager)

    # then: no personal value is left anywhere, the change history included
    after_text = _all_personal_text()
    assert [secret for secret in SECRETS if secret in after_text] == []
    customer.refresh_from_db()
    assert customer.family_name == ERASED and customer.email == "" and customer.birth_date is None
    assert customer.do_not_contact and not customer.marketing_consent
    assert not CustomerEvent.objects.filter(pgh_obj_id=customer.pk, email="hanako.yamada@example.jp").exists()
    assert set(NoteEvent.objects.filter(customer_id=customer.pk).values_list("body", flat=True)) == {ERASED}
    assert not ImportBatch.objects.exclude(content=b"").exists()
    # and: the figures' rows are all there
    assert LedgerEntry.objects.filter(membership__customer=customer).aggregate(s=Sum("points"))["s"] == ledger_sum
    assert sorted(Touchpoint.objects.filter(customer=customer).values_list("amount", flat=True), key=str) == amounts
    assert (
        Ticket.objects.filter(customer=customer).count(),
        TicketMessage.objects.filter(customer=customer).count(),
    ) == (counts)
    assert Customer.objects.filter(pk=customer.pk).exists()
    # and: the request says who did it and what changed
    assert done.status == DataRequest.Status.COMPLETED and done.handled_by == manager
    assert done.outcome["customer"] == 1 and done.outcome["history"] >= 2


def test_erasing_again_changes_nothing(full_customer, manager):
    customer = full_customer.customer
    first = services.data_request_record(customer=customer, kind="erasure", received_via="email", by=manager)
    first = services.customer_erase(data_request=first, confirmation=str(customer.pk), by=manager)
    events = CustomerEvent.objects.count()

    # when: the same request again, and a second request for the same customer
    again = services.customer_erase(data_request=first, confirmation=str(customer.pk), by=manager)
    second = services.data_request_record(customer=customer, kind="erasure", received_via="email", by=manager)
    second = services.customer_erase(data_request=second, confirmation=str(customer.pk), by=manager)

    # then: nothing was written (no history row either)
    assert again.pk == first.pk and again.outcome == first.outcome
    assert second.outcome == {}
    assert CustomerEvent.objects.count() == events


def test_erasure_refuses_a_wrong_confirmation_and_changes_nothing(full_customer, manager):
    customer = full_customer.customer
    data_request = services.data_request_record(customer=customer, kind="erasure", received_via="email", by=manager)
    with pytest.raises(ValidationError) as error:
        services.customer_erase(data_request=data_request, confirmation=str(customer.pk + 1), by=manager)
    assert "confirmation" in error.value.message_dict
    customer.refresh_from_db()
    assert customer.email == "hanako.yamada@example.jp"
    data_request.refresh_from_db()
    assert data_request.status == DataRequest.Status.RECEIVED


def test_a_disclosure_request_cannot_erase(full_customer, manager):
    customer = full_customer.customer
    data_request = services.data_request_record(customer=customer, kind="disclosure", received_via="email", by=manager)
    with pytest.raises(ValidationError):
        services.customer_erase(data_request=data_request, confirmation=str(customer.pk), by=manager)


def test_erasure_deletes_the_photos_sent_with_the_customers_form_messages(full_customer, manager, settings, tmp_path):
    # given: a photo on her ticket (sent with a confirmed form message), its file in private storage
    from django.core.files.base import ContentFile

    from feedback.submissions import FeedbackPhoto

    settings.TSUNAGU_PRIVATE_MEDIA_ROOT = str(tmp_path)
    photo = FeedbackPhoto(ticket=full_customer.ticket, content_type="image/png", size=4)
    photo.file.save("lid.png", ContentFile(b"\x89PNG"), save=True)
    path = photo.file.path
    data_request = services.data_request_record(
        customer=full_customer.customer, kind="erasure", received_via="letter", by=manager
    )
    # when
    done = services.customer_erase(data_request=data_request, confirmation=str(full_customer.customer.pk), by=manager)
    # then: the row and the file are gone
    assert done.outcome["photos"] == 1
    assert not FeedbackPhoto.objects.exists()
    assert not Path(path).exists()


def test_erasure_blanks_the_mail_the_customer_sent_in_and_its_attachments(full_customer, manager):
    # given: the raw mail behind her answer on the ticket, with an attachment
    from touchpoints.outreach.channels.mailbox.models import InboundAttachment, InboundMail

    mail = InboundMail.objects.create(
        message_id="<answer-1@example.jp>",
        raw=b"From: Hanako <hanako.home@example.jp>\r\nSubject: lid\r\n\r\nThe lid is still broken, sorry",
        sender="Hanako <hanako.home@example.jp>",
        subject="lid",
    )
    InboundAttachment.objects.create(
        mail=mail, filename="hanako-lid.jpg", content_type="image/jpeg", size=3, content=b"abc"
    )
    other = InboundMail.objects.create(
        message_id="<other@example.jp>", raw=b"From: someone else", sender="x@example.jp"
    )
    data_request = services.data_request_record(
        customer=full_customer.customer, kind="erasure", received_via="letter", by=manager
    )
    # when
    done = services.customer_erase(data_request=data_request, confirmation=str(full_customer.customer.pk), by=manager)
    # then: her mail is blank, its attachment gone; another sender's mail untouched
    mail.refresh_from_db()
    other.refresh_from_db()
    assert done.outcome["inbound_mail"] == 1
    assert (bytes(mail.raw), mail.sender, mail.subject) == (b"", "", "")
    assert list(InboundAttachment.objects.values_list("content", "filename")) == [(None, "")]
    assert bytes(other.raw) == b"From: someone else"


def test_erasure_forgets_the_customers_line_identity_and_its_events(full_customer, manager):
    # given: her LINE link and a message event from it; another person's event
    from touchpoints.outreach.line.models import LineUser, LineWebhookEvent

    LineUser.objects.create(
        provider="p1", user_id="U-hanako", customer=full_customer.customer, display_name="はなこ", following=True
    )
    hers = LineWebhookEvent.objects.create(
        event_id="e1", kind="message", payload={"source": {"userId": "U-hanako"}, "message": {"text": "はなこです"}}
    )
    others = LineWebhookEvent.objects.create(
        event_id="e2", kind="message", payload={"source": {"userId": "U-other"}, "message": {"text": "hi"}}
    )
    data_request = services.data_request_record(
        customer=full_customer.customer, kind="erasure", received_via="letter", by=manager
    )
    # when
    services.customer_erase(data_request=data_request, confirmation=str(full_customer.customer.pk), by=manager)
    # then
    hers.refresh_from_db()
    others.refresh_from_db()
    assert not LineUser.objects.exists()
    assert hers.payload == {} and others.payload["message"]["text"] == "hi"
