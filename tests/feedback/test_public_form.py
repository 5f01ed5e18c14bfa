"""The public feedback form at /feedback/: the customer matched or created without consent, the message held
until the address is confirmed by a link mailed to it, then a ticket and a confirmation with the reference;
CSRF, a honeypot and a rate limit per address, with nothing lost."""

from __future__ import annotations

import datetime
import re

import pytest
from django.conf import settings
from django.core import signing
from django.test import Client
from django.urls import reverse

from customers.models import Customer
from feedback.models import PendingSubmission, Ticket
from feedback.tasks import pending_submissions_purge_task
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

URL = "/feedback/"


def form(**overrides) -> dict:
    data = {
        "name": "Hanako Suzuki",
        "email": "hanako@example.com",
        "kind": "complaint",
        "message": "The kettle I bought leaks.\nOrder 1234.",
        "website": "",
    }
    data.update(overrides)
    return data


def test_the_form_is_public_and_mobile_friendly(client):
    response = client.get(URL)
    assert response.status_code == 200
    body = response.content.decode()
    assert 'name="csrfmiddlewaretoken"' in body and 'name="viewport"' in body and 'class="hp-field"' in body


def confirm_link(mail) -> str:
    """The confirmation path in a mail (the site's base URL removed)."""
    match = re.search(re.escape(settings.TSUNAGU_BASE_URL) + r"(/feedback/confirm/[^/\s]+/)", mail.body)
    assert match, "no confirmation link in the message"
    return match.group(1)


def test_a_message_for_a_new_address_opens_a_ticket_once_the_address_is_confirmed(client, outbox):
    # when
    response = client.post(URL, form(email="Hanako@Example.com"), headers={"accept-language": "en"})
    # then: a new customer (no marketing consent), no ticket yet, and a confirmation link mailed to the address
    customer = Customer.objects.get()
    assert customer.email == "hanako@example.com" and customer.family_name == "Hanako Suzuki"
    assert not customer.marketing_consent and customer.source == "web" and customer.preferred_language == "en"
    assert not Ticket.objects.exists()
    assert response.status_code == 302
    assert "confirm your address" in client.get(response["Location"]).content.decode()
    (link_mail,) = outbox()
    assert link_mail.purpose == "transactional" and link_mail.customer_id == customer.pk
    assert "leaks" not in link_mail.body and "Hanako" not in link_mail.body
    # when: the link is opened (a page with a button: mail scanners follow links) and confirmed
    link = confirm_link(link_mail)
    assert client.get(link).status_code == 200 and not Ticket.objects.exists()
    response = client.post(link)
    # then: the ticket, and the thanks page with its reference
    ticket = Ticket.objects.get()
    assert ticket.customer == customer
    assert (ticket.kind, ticket.channel, ticket.subject) == ("complaint", "web_form", "The kettle I bought leaks.")
    assert ticket.body == "The kettle I bought leaks.\nOrder 1234."
    assert ticket.reference in client.get(response["Location"]).content.decode()
    # and: the usual confirmation with the reference, through the outbox, with none of the text they typed
    mail = outbox()[-1]
    assert mail.key == f"feedback:ticket:{ticket.pk}:received" and mail.purpose == "transactional"
    assert mail.status == "queued" and mail.template.slug == "feedback-received"
    assert ticket.reference in mail.subject and ticket.reference in mail.body
    assert "leaks" not in mail.body and "Hanako" not in mail.body


def test_a_message_with_someone_elses_email_attaches_nothing_and_mails_only_the_owner(client, outbox):
    # given: a customer, and a stranger who types their address
    customer = CustomerFactory(email="taro@example.com", family_name="Yamada", marketing_consent=True)
    # when
    assert client.post(URL, form(email="TARO@Example.COM", name="Someone Else")).status_code == 302
    # then: no ticket on their record (no staff reply can reach them), nothing of theirs changed,
    # and the only mail is the confirmation link, to the real owner
    assert not Ticket.objects.exists() and Customer.objects.count() == 1
    customer.refresh_from_db()
    assert customer.family_name == "Yamada" and customer.marketing_consent
    (mail,) = outbox()
    assert mail.customer_id == customer.pk and mail.to_address == "taro@example.com"
    assert "Someone Else" not in mail.body


def test_the_link_opens_the_ticket_once_and_a_reused_link_says_so(client, outbox):
    customer = CustomerFactory(email="taro@example.com")
    client.post(URL, form(email="taro@example.com"))
    link = confirm_link(outbox()[0])
    assert client.post(link).status_code == 302
    # when: the link is used again
    again = client.post(link)
    # then: nothing more is opened, and the page says why
    assert again.status_code == 400 and "already used" in again.content.decode()
    assert client.get(link).status_code == 400
    assert Ticket.objects.get().customer == customer


def test_an_expired_link_says_so_and_opens_nothing(client, outbox, settings):
    client.post(URL, form())
    link = confirm_link(outbox()[0])
    settings.TSUNAGU_FEEDBACK_CONFIRM_HOURS = 0
    response = client.post(link)
    assert response.status_code == 400 and "expired" in response.content.decode()
    assert not Ticket.objects.exists()


def test_a_forged_link_says_so_and_opens_nothing(client, outbox):
    client.post(URL, form())
    token = confirm_link(outbox()[0]).split("/")[-2]
    forged = signing.dumps(PendingSubmission.objects.get().pk, salt="another")
    for bad in (token[:-2] + "xx", forged, "1"):
        response = client.post(reverse("feedback:confirm", args=[bad]))
        assert response.status_code == 400 and "not valid" in response.content.decode()
    assert not Ticket.objects.exists()


def test_mistakes_are_shown_and_what_was_typed_is_kept(client):
    response = client.post(URL, form(email="not-an-email", message="Please keep this text"))
    assert response.status_code == 400
    body = response.content.decode()
    assert "Please keep this text" in body and "Hanako Suzuki" in body and "valid email" in body
    assert not Ticket.objects.exists()


def test_the_honeypot_thanks_a_robot_and_keeps_nothing(client, outbox):
    response = client.post(URL, form(website="http://spam.example"))
    assert response.status_code == 302 and response["Location"] == reverse("feedback:thanks")
    assert not Ticket.objects.exists() and not Customer.objects.exists() and outbox() == []


def test_a_post_without_the_csrf_token_is_refused():
    client = Client(enforce_csrf_checks=True)
    assert client.post(URL, form()).status_code == 403
    assert not Ticket.objects.exists()


def test_the_rate_limit_is_per_address_and_keeps_the_message(settings):
    settings.TSUNAGU_FEEDBACK_RATE_LIMIT = "3/hour"
    client = Client(REMOTE_ADDR="203.0.113.7")
    for i in range(3):
        assert client.post(URL, form(email=f"p{i}@example.com")).status_code == 302
    # when: a fourth message from the same address
    response = client.post(URL, form(email="p4@example.com", message="My fourth message, kept"))
    # then: refused with a clear message and the text still in the form; nothing created
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    body = response.content.decode()
    assert "try again in" in body and "My fourth message, kept" in body
    assert PendingSubmission.objects.count() == 3
    # and: another address is not affected
    assert Client(REMOTE_ADDR="198.51.100.9").post(URL, form(email="q@example.com")).status_code == 302


def test_mistakes_do_not_count_against_the_limit(settings):
    settings.TSUNAGU_FEEDBACK_RATE_LIMIT = "1/hour"
    client = Client(REMOTE_ADDR="203.0.113.8")
    assert client.post(URL, form(email="bad")).status_code == 400
    assert client.post(URL, form()).status_code == 302


def test_behind_a_proxy_the_configured_header_is_the_address(settings):
    settings.TSUNAGU_FEEDBACK_RATE_LIMIT = "1/hour"
    settings.TSUNAGU_CLIENT_IP_HEADER = "HTTP_X_REAL_IP"
    proxy = "10.0.0.1"
    assert Client(REMOTE_ADDR=proxy, HTTP_X_REAL_IP="203.0.113.1").post(URL, form()).status_code == 302
    assert (
        Client(REMOTE_ADDR=proxy, HTTP_X_REAL_IP="203.0.113.2").post(URL, form(email="b@example.com")).status_code
        == 302
    )
    assert (
        Client(REMOTE_ADDR=proxy, HTTP_X_REAL_IP="203.0.113.1").post(URL, form(email="c@example.com")).status_code
        == 429
    )


def test_a_forged_thanks_link_shows_no_reference(client):
    body = client.get(reverse("feedback:thanks") + "?r=1:forged").content.decode()
    assert "T-0" not in body and "Thank you" in body


def test_held_messages_are_forgotten_once_their_link_has_expired(client, settings):
    # given: a message held for two days, and one just sent
    settings.TSUNAGU_FEEDBACK_CONFIRM_HOURS = 48
    client.post(URL, form(email="old@example.com"))
    client.post(URL, form(email="new@example.com"))
    old = PendingSubmission.objects.get(customer__email="old@example.com")
    PendingSubmission.objects.filter(pk=old.pk).update(created_at=old.created_at - datetime.timedelta(hours=49))
    # when: the hourly job runs (twice)
    assert pending_submissions_purge_task() == 1
    assert pending_submissions_purge_task() == 0
    # then
    assert list(PendingSubmission.objects.values_list("customer__email", flat=True)) == ["new@example.com"]
