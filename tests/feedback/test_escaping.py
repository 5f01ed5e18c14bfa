"""Script payloads typed by customers (and staff) are shown as text everywhere: staff pages, the customer page,
the admin's lists and pages, and the mail (RELIABILITY.md: django-helpdesk CVE-2021-3945)."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from feedback import services
from feedback.models import PendingSubmission, Survey, Ticket
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PAYLOADS = ["<script>alert('x')</script>", "<img src=x onerror=alert(1)>"]


@pytest.fixture(params=PAYLOADS, ids=["script", "img-onerror"])
def payload(request):
    return request.param


@pytest.fixture
def world(client, payload, settings):
    """A ticket from the public form with the payload in every field a customer types, a reply and a note with
    it, tags and a canned response with it, and a CSAT answer with it in the comment."""
    settings.TSUNAGU_FEEDBACK_RATE_LIMIT = "100/hour"
    client.post(
        "/feedback/",
        {
            "name": f"Name {payload}",
            "email": "victim@example.com",
            "kind": "complaint",
            "message": f"{payload} first line\nbody {payload}",
            "website": "",
        },
    )
    pending = PendingSubmission.objects.get()
    client.post(reverse("feedback:confirm", args=[services.confirm_token(pending)]))  # the link mailed to them
    ticket = Ticket.objects.get()
    agent = UserFactory(username="agent", role="Support")
    services.ticket_update(ticket=ticket, data={"tags": [f"tag{payload}"], "order_reference": f"o{payload}"}, by=agent)
    services.ticket_reply(ticket=ticket, body=f"reply {payload}", by=agent)
    services.ticket_reply(ticket=ticket, body=f"note {payload}", by=agent, public=False)
    services.canned_response_save(title=f"canned {payload}", body=f"text {payload}")
    services.ticket_status_change(ticket=ticket, status="resolved", by=agent)
    survey = Survey.objects.get(ticket=ticket)
    client.post(
        reverse("feedback:survey", args=[services.survey_token(survey)]), {"score": "1", "comment": f"c {payload}"}
    )
    return {"ticket": ticket, "survey": survey, "follow_up": Ticket.objects.get(source_survey=survey)}


def assert_safe(body: str, payload: str, where: str) -> None:
    assert payload not in body, f"raw payload in {where}"
    assert "<img src=x" not in body and "<script>alert" not in body, f"live markup in {where}"


def staff_pages(world) -> dict[str, str]:
    ticket, follow_up = world["ticket"], world["follow_up"]
    return {
        "queue": reverse("feedback:queue") + "?queue=all",
        "queue search": reverse("feedback:queue") + "?queue=all&q=victim@example.com",
        "ticket": ticket.get_absolute_url(),
        "follow-up ticket": follow_up.get_absolute_url(),
        "older messages": reverse("feedback:ticket_messages", args=[ticket.pk]),
        "customer page": ticket.customer.get_absolute_url(),
        "customer timeline": reverse("customers:timeline", args=[ticket.customer_id]),
        "survey answers": reverse("feedback:surveys"),
        "canned responses": reverse("feedback:canned"),
        "figures": reverse("feedback:figures"),
        "customer search": reverse("feedback:customer_search") + "?q=victim",
        "new ticket for the customer": reverse("feedback:ticket_create") + f"?customer={ticket.customer_id}",
    }


def test_staff_pages_show_the_payload_as_text(client, world, payload):
    client.force_login(UserFactory(username="boss", role="Manager"))
    for where, url in staff_pages(world).items():
        response = client.get(url)
        assert response.status_code == 200, where
        assert_safe(response.content.decode(), payload, where)
    body = client.get(world["ticket"].get_absolute_url()).content.decode()
    assert "&lt;" in body and "reply &lt;" in body  # shown, escaped


def test_the_admin_shows_the_payload_as_text(client, world, payload):
    client.force_login(UserFactory(username="root", is_superuser=True))
    ticket = world["ticket"]
    pages = {
        "tickets": reverse("admin:feedback_ticket_changelist"),
        "ticket search": reverse("admin:feedback_ticket_changelist") + "?q=victim",
        "ticket": reverse("admin:feedback_ticket_change", args=[ticket.pk]),
        "messages": reverse("admin:feedback_ticketmessage_changelist"),
        "surveys": reverse("admin:feedback_survey_changelist"),
        "survey": reverse("admin:feedback_survey_change", args=[world["survey"].pk]),
        "tags": reverse("admin:feedback_tickettag_changelist"),
        "canned": reverse("admin:feedback_cannedresponse_changelist"),
        "warnings": reverse("admin:feedback_slawarning_changelist"),
        "customers": reverse("admin:customers_customer_changelist"),
    }
    for where, url in pages.items():
        response = client.get(url)
        assert response.status_code == 200, where
        assert_safe(response.content.decode(), payload, where)


def test_the_public_pages_show_no_payload(client, world, payload):
    survey = world["survey"]
    for url in (reverse("feedback:survey", args=[services.survey_token(survey)]), "/feedback/"):
        assert_safe(client.get(url).content.decode(), payload, url)


def test_mail_is_plain_text_and_the_confirmation_carries_nothing_typed(world, payload):
    from touchpoints.outreach import outbox
    from touchpoints.outreach.models import OutboundMessage

    messages = list(OutboundMessage.objects.filter(source_app="feedback").order_by("id"))
    received = next(m for m in messages if m.key.endswith(":received"))
    assert payload not in received.body and payload not in received.subject
    # every feedback mail is a single text/plain part: nothing in it is ever run as HTML
    for message in messages:
        email = outbox.email_for(message)
        assert email.content_subtype == "plain" and not getattr(email, "alternatives", [])
    # and the staff's SLA digest is plain text as well
    services.sla_warnings_notify()
    for sent in mail.outbox:
        assert sent.content_subtype == "plain" and not getattr(sent, "alternatives", [])
