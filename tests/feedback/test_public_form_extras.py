"""Issue 20, point 9: the public form takes an optional order number, phone and one photo (size and type checked by
its bytes, kept privately, downloaded by staff only, never shown inline), and a full-width ＠ typed on a Japanese
phone keyboard; the confirmation-by-link flow is unchanged."""

from __future__ import annotations

import datetime
import re

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from customers.models import Customer
from feedback.models import FeedbackPhoto, PendingSubmission, Ticket
from feedback.tasks import pending_submissions_purge_task
from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/feedback/"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture(autouse=True)
def private_root(settings, tmp_path):
    settings.TSUNAGU_PRIVATE_MEDIA_ROOT = tmp_path / "private"
    return settings.TSUNAGU_PRIVATE_MEDIA_ROOT


def form(**overrides) -> dict:
    data = {
        "name": "鈴木花子",
        "email": "hanako@example.com",
        "kind": "complaint",
        "message": "急須のふたが割れて届きました。",
        "website": "",
    }
    data.update(overrides)
    return data


def confirm(client, outbox) -> Ticket:
    mail = outbox()[-1]
    match = re.search(re.escape(settings.TSUNAGU_BASE_URL) + r"(/feedback/confirm/[^/\s]+/)", mail.body)
    assert match
    client.post(match.group(1))
    return Ticket.objects.get()


def test_a_full_width_at_sign_typed_on_a_phone_is_accepted(client, outbox):
    response = client.post(URL, form(email="ｈａｎａｋｏ＠ｅｘａｍｐｌｅ．ｃｏｍ"))

    assert response.status_code == 302
    assert Customer.objects.get().email == "hanako@example.com"
    assert outbox()[-1].customer.email == "hanako@example.com"


def test_order_number_phone_and_photo_reach_the_ticket_once_confirmed(client, outbox, private_root):
    # given: a customer on file without a phone
    customer = CustomerFactory(email="hanako@example.com", phone="")
    photo = SimpleUploadedFile("IMG_0001 鈴木.png", PNG, content_type="image/png")

    # when: she writes with her order number, her mobile number typed full width, and a photo; then confirms
    response = client.post(URL, {**form(order_reference="A-10023", phone="０９０－１２３４－５６７８"), "photo": photo})
    assert response.status_code == 302
    assert not Ticket.objects.exists()
    ticket = confirm(client, outbox)

    # then: the ticket has the order number and the photo; her number is on her record
    assert ticket.order_reference == "A-10023"
    (stored,) = FeedbackPhoto.objects.all()
    assert stored.ticket == ticket and stored.content_type == "image/png" and stored.size == len(PNG)
    assert str(private_root) in stored.file.path and "鈴木" not in stored.file.name  # private, named by us
    customer.refresh_from_db()
    assert customer.phone == "+819012345678"


@pytest.mark.parametrize(
    ("name", "content", "why"),
    [
        ("photo.jpg", b"<html><script>alert(1)</script></html>", "JPEG, PNG, WebP or HEIC"),
        ("photo.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "JPEG, PNG"),
    ],
)
def test_a_file_that_is_not_a_photo_is_refused_and_the_message_kept(client, name, content, why):
    response = client.post(URL, {**form(), "photo": SimpleUploadedFile(name, content, content_type="image/jpeg")})

    assert response.status_code == 400
    body = response.content.decode()
    assert why in body
    assert "急須のふたが割れて届きました。" in body  # nothing lost
    assert not PendingSubmission.objects.exists() and not FeedbackPhoto.objects.exists()


def test_a_photo_over_the_size_limit_is_refused(client, settings):
    settings.TSUNAGU_FEEDBACK_PHOTO_MAX_BYTES = 100
    response = client.post(URL, {**form(), "photo": SimpleUploadedFile("p.png", PNG + b"\0" * 200)})

    assert response.status_code == 400
    assert "too large" in response.content.decode()
    assert not PendingSubmission.objects.exists()


def test_an_invalid_phone_is_refused_with_a_clear_message(client):
    response = client.post(URL, form(phone="12"))

    assert response.status_code == 400
    assert "Enter a valid phone number." in response.content.decode()


def test_staff_download_the_photo_as_an_attachment_and_others_cannot(client, outbox):
    client.post(URL, {**form(), "photo": SimpleUploadedFile("p.png", PNG, content_type="image/png")})
    ticket = confirm(client, outbox)
    photo = FeedbackPhoto.objects.get()
    url = f"/feedback/tickets/{ticket.pk}/photos/{photo.pk}/"

    # an anonymous visitor and marketing: no
    assert Client().get(url).status_code == 302
    marketing = Client()
    marketing.force_login(UserFactory(username="mk", role="Marketing"))
    assert marketing.get(url).status_code == 403
    # support: a download, never inline
    support = Client()
    support.force_login(UserFactory(username="sp", role="Support"))
    page = support.get(f"/feedback/tickets/{ticket.pk}/").content.decode()
    assert url in page and "<img" not in page
    response = support.get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["Content-Type"] == "image/png" and response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == PNG
    # a photo id under another ticket: 404
    assert support.get(f"/feedback/tickets/{ticket.pk + 1}/photos/{photo.pk}/").status_code == 404


def test_an_unconfirmed_messages_photo_is_deleted_with_it(client, settings):
    client.post(URL, {**form(), "photo": SimpleUploadedFile("p.png", PNG, content_type="image/png")})
    pending = PendingSubmission.objects.get()
    path = FeedbackPhoto.objects.get().file.path
    PendingSubmission.objects.filter(pk=pending.pk).update(created_at=pending.created_at - datetime.timedelta(days=3))

    assert pending_submissions_purge_task() == 1
    assert pending_submissions_purge_task() == 0

    assert not FeedbackPhoto.objects.exists()
    import os

    assert not os.path.exists(path)
