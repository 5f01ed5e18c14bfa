"""The broadcast flow before sending: the audience counted with the reasons for those left out, a preview for a
sample recipient, a test to oneself through the outbox, the "send to N customers?" that fails if N moved; HTML mail
with its plain-text part; the progress page naming the quiet hours."""

from __future__ import annotations

import email
from email import policy

import pytest
from django.core.exceptions import ValidationError
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.urls import reverse

from customers.models import Customer, Segment
from tests.factories import CustomerFactory, MessageTemplateFactory, consenting_customer
from tests.smtp_sink import SmtpSink
from touchpoints.models import Touchpoint
from touchpoints.outreach import broadcasts, outbox, richtext
from touchpoints.outreach.channels.email import Delivery
from touchpoints.outreach.models import Broadcast, MessageTemplate, OutboundMessage

pytestmark = pytest.mark.django_db

MARKDOWN_BODY = (
    "# Spring sale\n\n**{customer_name}**, 20% off.\n\n![banner](https://shop.example/banner.png)\n\n"
    "<script>alert(1)</script> [Shop](https://shop.example/) [bad](javascript:alert(1))\n\n{unsubscribe_url}"
)


@pytest.fixture(autouse=True)
def _no_quiet_hours(settings):
    settings.TSUNAGU_QUIET_HOURS = ""


@pytest.fixture
def segment():
    return Segment.objects.create(name="English speakers", rules={"language": "en"})


@pytest.fixture
def crowd():
    """Three who receive it, and one left out for each reason."""
    yes = [consenting_customer(email=f"yes{i}@example.com", given_name=f"Yes{i}") for i in range(3)]
    CustomerFactory(email="dnc@example.com", marketing_consent=True, do_not_contact=True)
    CustomerFactory(email="no@example.com", marketing_consent=False)
    consenting_customer(email="", phone="+81312345678")
    return yes


def test_the_audience_counts_recipients_and_each_reason_for_leaving_one_out(segment, crowd):
    audience = broadcasts.broadcast_audience(segment=segment)

    assert (audience.total, audience.recipients) == (6, 3)
    assert audience.excluded == {"do_not_contact": 1, "opted_out": 0, "no_consent": 1, "no_address": 1, "capped": 0}


def test_the_audience_counts_the_frequency_cap(segment, crowd):
    outbox.message_enqueue(customer=crowd[0], key="earlier", purpose="marketing", template=MessageTemplateFactory())

    audience = broadcasts.broadcast_audience(segment=segment, cap_days=7)

    assert audience.recipients == 2 and audience.excluded["capped"] == 1


def test_sending_fails_when_the_audience_changed_since_it_was_confirmed(segment, crowd, marketing):
    template = MessageTemplateFactory()
    consenting_customer(email="late@example.com")  # joined the segment after staff saw "3"

    with pytest.raises(ValidationError) as error:
        broadcasts.broadcast_create(
            name="Spring", template=template, segment=segment, by=marketing, expected_recipients=3
        )

    assert error.value.code == "audience_changed" and "4" in error.value.messages[0]
    assert not Broadcast.objects.exists()
    broadcast = broadcasts.broadcast_create(
        name="Spring", template=template, segment=segment, by=marketing, expected_recipients=4
    )
    assert broadcast.pk


def test_the_confirmation_page_shows_count_reasons_and_preview_then_sends_to_n(marketing_client, segment, crowd):
    template = MessageTemplateFactory(body_en=MARKDOWN_BODY, body_format="markdown")
    form = {"name": "Spring", "template": template.pk, "segment": segment.pk, "cap_days": "0"}

    page = marketing_client.post(reverse("outreach:broadcast_create"), form)

    body = page.content.decode()
    assert page.status_code == 200 and not Broadcast.objects.exists()
    assert 'id="audience-recipients">3<' in body and "Send to 3 customers" in body
    assert "Do not contact" in body or "do-not-contact" in body.lower()
    assert "<strong>Yes0 " in body or "<strong>Sato Yes0" in body or "Yes0" in body
    assert "<script>alert(1)</script>" not in body and 'href="javascript' not in body
    assert 'href="https://shop.example/banner.png"' in body  # the staff page's policy allows no outside image

    consenting_customer(email="late@example.com")
    changed = marketing_client.post(reverse("outreach:broadcast_create"), {**form, "action": "send", "expected": "3"})
    assert changed.status_code == 200 and not Broadcast.objects.exists()
    assert "Send to 4 customers" in changed.content.decode()

    sent = marketing_client.post(reverse("outreach:broadcast_create"), {**form, "action": "send", "expected": "4"})
    assert sent.status_code == 302 and Broadcast.objects.get().name == "Spring"


def test_a_test_send_goes_to_the_staff_member_through_the_outbox_and_not_to_the_customer(
    marketing_client, marketing, segment, crowd, published, django_capture_on_commit_callbacks
):
    marketing.email = "me@shop.example"
    marketing.save()
    template = MessageTemplateFactory(body_en=MARKDOWN_BODY, body_format="markdown")
    form = {"name": "Spring", "template": template.pk, "segment": segment.pk, "cap_days": "0", "action": "test"}

    with django_capture_on_commit_callbacks(execute=True):
        page = marketing_client.post(reverse("outreach:broadcast_create"), form)

    message = OutboundMessage.objects.get()
    assert page.status_code == 200 and "me@shop.example" in page.content.decode()
    assert message.is_test and message.to_address == "me@shop.example" and message.subject.startswith("[Test]")
    assert published == [message.pk] and not Broadcast.objects.exists()
    with SmtpSink() as sink:
        delivery = Delivery(SMTPBackend(host="127.0.0.1", port=sink.port, timeout=5))
        report = outbox.messages_send(message_ids=[message.pk], delivery=delivery)
        delivery.close()
        received = sink.received
    assert report.sent == 1 and received[0].to == ["me@shop.example"]
    assert "list-unsubscribe" not in received[0].headers  # it would unsubscribe the sample customer
    assert not Touchpoint.objects.exists()  # nothing on the customer's timeline
    # …and it does not count against the customer's frequency cap.
    assert broadcasts.broadcast_audience(segment=segment, cap_days=7).excluded["capped"] == 0


def test_a_formatted_template_is_sent_as_html_with_a_plain_text_part(published):
    template = MessageTemplateFactory(body_en=MARKDOWN_BODY, body_format=MessageTemplate.BodyFormat.MARKDOWN)
    customer = consenting_customer(family_name="<b>Evil</b>")
    message = outbox.message_enqueue(customer=customer, key="html-1", purpose="marketing", template=template)

    with SmtpSink() as sink:
        delivery = Delivery(SMTPBackend(host="127.0.0.1", port=sink.port, timeout=5))
        outbox.messages_send(message_ids=[message.pk], delivery=delivery)
        delivery.close()
        raw = sink.received[0].content
    mail = email.message_from_bytes(raw, policy=policy.default)
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert mail.get_content_type() == "multipart/alternative"
    assert "Spring sale" in text and "banner (https://shop.example/banner.png)" in text and "**" not in text
    assert '<h1 style="' in html and "max-width:600px" in html and "max-width:100%" in html
    assert "&lt;b&gt;Evil&lt;/b&gt;" in html and "<b>Evil</b>" not in html
    assert "<script>" not in html and 'href="javascript' not in html
    assert 'name="viewport"' in html


def test_a_plain_template_stays_a_plain_text_mail(published):
    message = outbox.message_enqueue(
        customer=consenting_customer(), key="plain-1", purpose="marketing", template=MessageTemplateFactory()
    )
    assert outbox.email_for(OutboundMessage.objects.get(pk=message.pk)).content_subtype == "plain"
    assert type(outbox.email_for(OutboundMessage.objects.get(pk=message.pk))).__name__ == "EmailMessage"


def test_markdown_never_lets_html_through():
    html = richtext.markdown_fragment('<img src=x onerror="alert(1)"> [a](javascript:alert(1)) ![i](data:x)')

    assert '<img src="x"' not in html and "&lt;img src=x" in html
    assert 'href="javascript' not in html and 'src="data' not in html


def test_the_progress_page_says_the_messages_wait_for_the_quiet_hours(marketing_client, segment, crowd, settings):
    settings.TSUNAGU_QUIET_HOURS = "00:00-23:59"
    template = MessageTemplateFactory()
    broadcast = broadcasts.broadcast_create(name="Night", template=template, segment=segment, by=None)
    broadcasts.broadcast_prepare(broadcast_id=broadcast.pk)

    page = marketing_client.get(reverse("outreach:broadcast_progress", args=[broadcast.pk]))

    held = OutboundMessage.objects.filter(broadcast=broadcast, status="queued")
    assert held.count() == 3 and {m.skip_reason for m in held} == {"quiet_hours"}
    body = page.content.decode()
    assert "3 messages are held for the quiet hours until 23:59" in body, body


def test_customers_not_in_the_database_mean_an_empty_preview(marketing_client):
    segment = Segment.objects.create(name="Nobody", rules={"language": "en"})
    template = MessageTemplateFactory()
    page = marketing_client.post(
        reverse("outreach:broadcast_create"),
        {"name": "Empty", "template": template.pk, "segment": segment.pk, "cap_days": "0"},
    )
    assert page.status_code == 200 and "Send to 0 customers" in page.content.decode()
    assert not Customer.objects.exists()
