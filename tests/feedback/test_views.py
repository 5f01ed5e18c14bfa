"""The staff pages: queues, a new ticket found by search, the ticket page's actions, canned responses, the
customer page's panel and timeline."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from feedback import services
from feedback.models import CannedResponse, Ticket, TicketMessage
from tests.factories import CannedResponseFactory, CustomerFactory, UserFactory, ticket_create, touchpoint_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent():
    return UserFactory(username="agent", first_name="Aki", last_name="Agent", role="Support")


@pytest.fixture
def agent_client(client, agent):
    client.force_login(agent)
    return client


def rows(response) -> list[int]:
    return [t.pk for t in response.context["page"].rows]


# --- Queues ---------------------------------------------------------------------------------------


def test_the_queues(agent_client, agent):
    other = UserFactory(username="other", role="Support")
    mine = ticket_create(assignee=agent)
    theirs = ticket_create(assignee=other)
    unassigned = ticket_create()
    closed = ticket_create(assignee=agent)
    services.ticket_status_change(ticket=closed, status="closed", by=agent)
    overdue = ticket_create(priority="urgent", now=timezone.now() - dt.timedelta(hours=2))
    url = reverse("feedback:queue")
    assert set(rows(agent_client.get(url))) == {mine.pk, theirs.pk, unassigned.pk, overdue.pk}
    assert rows(agent_client.get(url + "?queue=mine")) == [mine.pk]
    assert set(rows(agent_client.get(url + "?queue=unassigned"))) == {unassigned.pk, overdue.pk}
    assert rows(agent_client.get(url + "?queue=breaching")) == [overdue.pk]
    assert closed.pk in rows(agent_client.get(url + "?queue=all"))
    assert rows(agent_client.get(url + "?queue=all&status=closed")) == [closed.pk]
    # most urgent first: the overdue ticket tops the open queue
    assert rows(agent_client.get(url))[0] == overdue.pk


def test_the_queue_finds_customers_by_name_and_subjects_by_their_words(agent_client):
    yamamoto = CustomerFactory(family_name="山本", given_name="花子", family_name_kana="ヤマモト", email="h@example.jp")
    returned = ticket_create(subject="返品の手続きについて")
    shipping = ticket_create(yamamoto, subject="配送が遅れている")
    lid = ticket_create(subject="The lid does not close")
    url = reverse("feedback:queue") + "?queue=all&q="
    assert rows(agent_client.get(url + "返品の")) == [returned.pk]
    assert rows(agent_client.get(url + "山本")) == [shipping.pk]  # two characters: the customer's name
    assert rows(agent_client.get(url + "やまもと")) == [shipping.pk]  # kana, as typed
    assert rows(agent_client.get(url + "h@example.jp")) == [shipping.pk]
    assert rows(agent_client.get(url + "lid")) == [lid.pk]
    response = agent_client.get(url + "返品")  # two characters name no customer here, and the page says why
    assert rows(response) == [] and "three to search subjects too" in response.content.decode()


def test_unknown_filters_and_sorts_are_ignored(agent_client):
    ticket = ticket_create()
    response = agent_client.get(reverse("feedback:queue") + "?queue=evil&status=x&sort=customer__email&priority=;drop")
    assert response.status_code == 200 and rows(response) == [ticket.pk]


def test_searching_a_reference_opens_the_ticket_and_words_search_subjects(agent_client):
    ticket = ticket_create(subject="Broken kettle lid")
    ticket_create(subject="Question about delivery")
    response = agent_client.get(reverse("feedback:queue") + f"?q={ticket.reference}")
    assert response.status_code == 302 and response["Location"] == ticket.get_absolute_url()
    assert rows(agent_client.get(reverse("feedback:queue") + "?queue=all&q=kettle")) == [ticket.pk]
    email = ticket.customer.email.upper()
    assert rows(agent_client.get(reverse("feedback:queue") + f"?queue=all&q={email}")) == [ticket.pk]


def test_keyset_pages_walk_the_whole_queue(agent_client, settings):
    settings.TSUNAGU_PAGE_SIZE = 3
    tickets = [ticket_create() for _ in range(7)]
    seen, url = [], reverse("feedback:queue") + "?queue=all"
    while url:
        response = agent_client.get(url)
        seen += rows(response)
        page = response.context["page"]
        url = reverse("feedback:queue") + f"?queue=all&after={page.next_cursor}" if page.has_next else ""
    assert sorted(seen) == sorted(t.pk for t in tickets) and len(seen) == 7


def test_htmx_gets_the_results_only(agent_client):
    ticket_create()
    response = agent_client.get(reverse("feedback:queue"), headers={"HX-Request": "true", "HX-Target": "queue-results"})
    assert b"<html" not in response.content and b"ticket-table" in response.content


def test_bulk_assign_and_close_from_the_queue(agent_client, agent):
    tickets = [ticket_create() for _ in range(3)]
    ids = [t.pk for t in tickets]
    response = agent_client.post(
        reverse("feedback:bulk"), {"ids": ids, "action": "assign", "assignee": agent.pk, "next": "/evil"}
    )
    assert response["Location"] == reverse("feedback:queue")
    assert set(Ticket.objects.values_list("assignee", flat=True)) == {agent.pk}
    agent_client.post(reverse("feedback:bulk"), {"ids": ids[:2], "action": "close"})
    assert sorted(Ticket.objects.values_list("status", flat=True)) == ["closed", "closed", "new"]
    response = agent_client.post(reverse("feedback:bulk"), {"action": "close"})
    assert response.status_code == 302  # nothing chosen: a message, no error


# --- A new ticket ---------------------------------------------------------------------------------


def test_a_new_ticket_for_a_customer_found_by_search(agent_client, agent):
    customer = CustomerFactory(family_name="Takahashi", email="takahashi@example.com")
    touchpoint = touchpoint_create(customer, "transaction", amount=1000, order_reference="A-1")
    found = agent_client.get(reverse("feedback:customer_search") + "?q=takahashi")
    assert f"?customer={customer.pk}" in found.content.decode()
    page = agent_client.get(reverse("feedback:ticket_create") + f"?customer={customer.pk}")
    assert page.status_code == 200 and "A-1" in page.content.decode()
    response = agent_client.post(
        reverse("feedback:ticket_create"),
        {"customer": customer.pk, "subject": "Refund please", "body": "Called us", "kind": "request",
         "channel": "phone", "priority": "high", "assignee": agent.pk, "tags": "refund, 返金",
         "touchpoint": touchpoint.pk, "order_reference": "A-1"},
    )  # fmt: skip
    ticket = Ticket.objects.get()
    assert response["Location"] == ticket.get_absolute_url()
    assert (ticket.customer, ticket.touchpoint, ticket.assignee, ticket.created_by) == (
        customer,
        touchpoint,
        agent,
        agent,
    )
    assert sorted(t.name for t in ticket.tags.all()) == ["refund", "返金"]


def test_a_touchpoint_of_another_customer_is_refused(agent_client):
    customer = CustomerFactory()
    other = touchpoint_create(CustomerFactory(), "transaction", amount=1)
    response = agent_client.post(
        reverse("feedback:ticket_create"),
        {"customer": customer.pk, "subject": "x", "kind": "question", "channel": "phone", "priority": "low",
         "touchpoint": other.pk},
    )  # fmt: skip
    assert response.status_code == 200 and not Ticket.objects.exists()


def test_the_new_ticket_page_lists_no_customers_until_searched(agent_client):
    for _ in range(30):
        CustomerFactory()
    body = agent_client.get(reverse("feedback:ticket_create")).content.decode()
    assert "customer-result-list" not in body and "?customer=" not in body


# --- The ticket page ------------------------------------------------------------------------------


def test_reply_with_a_canned_response_then_resolve(agent_client, agent, outbox):
    customer = CustomerFactory(given_name="Kenji", family_name="Sato", preferred_language="en")
    ticket = ticket_create(customer)
    canned = CannedResponseFactory(title="Sorry", body="Dear {customer_name}, about {ticket_reference}: sorry.")
    filled = agent_client.get(reverse("feedback:ticket_canned", args=[ticket.pk]) + f"?canned={canned.pk}")
    assert f"Dear Kenji Sato, about {ticket.reference}: sorry." in filled.content.decode()
    response = agent_client.post(
        reverse("feedback:ticket_reply", args=[ticket.pk]),
        {"body": "Dear Kenji Sato, sorry.", "visibility": "reply", "status": "waiting"},
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == "waiting" and ticket.first_responded_at
    agent_client.post(reverse("feedback:ticket_status", args=[ticket.pk]), {"status": "resolved"})
    ticket.refresh_from_db()
    assert ticket.status == "resolved"
    page = agent_client.get(ticket.get_absolute_url()).content.decode()
    assert "Dear Kenji Sato, sorry." in page and "not answered yet" in page
    assert 'data-delivery="queued"' in page
    assert len(outbox()) == 2  # the reply and the CSAT survey (opened by staff: no confirmation)


def test_a_reply_sent_twice_by_a_double_click_is_written_and_mailed_once(agent_client, outbox):
    ticket = ticket_create(CustomerFactory(email="kenji@example.com"))
    page = agent_client.get(ticket.get_absolute_url()).content.decode()
    key = re.search(r'name="idempotency_key" value="([0-9a-f]{32})"', page).group(1)
    url = reverse("feedback:ticket_reply", args=[ticket.pk])
    data = {"body": "We are on it.", "visibility": "reply", "idempotency_key": key}
    first, second = agent_client.post(url, data), agent_client.post(url, data)
    assert first.status_code == second.status_code == 302
    assert TicketMessage.objects.filter(ticket=ticket, kind="reply").count() == 1
    assert len([m for m in outbox() if m.body.startswith("We are on it.")]) == 1
    # a new form draws a new key: the next reply is written
    agent_client.post(url, {**data, "idempotency_key": "f" * 32, "body": "Done."})
    assert TicketMessage.objects.filter(ticket=ticket, kind="reply").count() == 2


def test_a_reply_to_a_do_not_contact_customer_is_kept_and_shown_as_not_mailed(agent_client, agent):
    ticket = ticket_create(CustomerFactory(do_not_contact=True))
    page = agent_client.get(ticket.get_absolute_url()).content.decode()
    assert 'id="reply-not-mailed"' in page
    services.ticket_reply(ticket=ticket, body="We tried", by=agent)
    message = TicketMessage.objects.get(kind="reply")
    assert message.outbound.status == "skipped" and message.outbound.skip_reason == "do_not_contact"
    page = agent_client.get(ticket.get_absolute_url()).content.decode()
    assert 'data-delivery="skipped"' in page and "We tried" in page


def test_an_empty_reply_keeps_the_page_and_says_why(agent_client):
    ticket = ticket_create()
    response = agent_client.post(
        reverse("feedback:ticket_reply", args=[ticket.pk]), {"body": "", "visibility": "reply"}
    )
    assert response.status_code == 400 and not TicketMessage.objects.exclude(kind="opened").exists()


def test_a_forbidden_status_says_why(agent_client, agent):
    ticket = ticket_create()
    services.ticket_status_change(ticket=ticket, status="closed", by=agent)
    response = agent_client.post(reverse("feedback:ticket_status", args=[ticket.pk]), {"status": "open"}, follow=True)
    assert "cannot go from" in response.content.decode()


def test_assign_and_edit(agent_client, agent):
    ticket = ticket_create()
    agent_client.post(reverse("feedback:ticket_assign", args=[ticket.pk]), {"assignee": agent.pk})
    agent_client.post(
        reverse("feedback:ticket_update", args=[ticket.pk]),
        {"subject": "New subject", "kind": "praise", "priority": "low", "tags": "a, b", "order_reference": "Z-9"},
    )
    ticket.refresh_from_db()
    assert (ticket.assignee, ticket.subject, ticket.kind, ticket.priority, ticket.order_reference) == (
        agent,
        "New subject",
        "praise",
        "low",
        "Z-9",
    )


def test_a_non_staff_user_cannot_be_assigned(agent_client):
    customer_user = UserFactory(username="notstaff", is_staff=False)
    ticket = ticket_create()
    agent_client.post(reverse("feedback:ticket_assign", args=[ticket.pk]), {"assignee": customer_user.pk})
    ticket.refresh_from_db()
    assert ticket.assignee is None


def test_older_messages_load_on_demand(agent_client, agent):
    ticket = ticket_create()
    for i in range(35):
        services.ticket_reply(ticket=ticket, body=f"message {i:02d}", by=agent, public=False)
    page = agent_client.get(ticket.get_absolute_url())
    assert "message 34" in page.content.decode() and "message 04" not in page.content.decode()
    older = agent_client.get(
        reverse("feedback:ticket_messages", args=[ticket.pk]) + f"?before={page.context['older_cursor']}"
    )
    assert "message 04" in older.content.decode() and "message 34" not in older.content.decode()


def test_a_huge_ticket_id_is_not_found(agent_client):
    assert agent_client.get(f"/feedback/tickets/{2**64}/").status_code == 404


# --- Canned responses -----------------------------------------------------------------------------


def test_canned_responses_are_managed_by_support(agent_client):
    agent_client.post(
        reverse("feedback:canned_create"), {"title": "Thanks", "body": "Thank you {customer_name}", "is_active": "on"}
    )
    canned = CannedResponse.objects.get()
    assert canned.is_active
    response = agent_client.post(reverse("feedback:canned_create"), {"title": "thanks", "body": "again"})
    assert response.status_code == 200 and "already exists" in response.content.decode()
    response = agent_client.post(
        reverse("feedback:canned_update", args=[canned.pk]), {"title": "Thanks", "body": "{oops}"}
    )
    assert "Unknown placeholders" in response.content.decode()
    agent_client.post(reverse("feedback:canned_delete", args=[canned.pk]))
    assert not CannedResponse.objects.exists()


# --- The customer page ----------------------------------------------------------------------------


def test_the_customer_page_shows_the_tickets_panel_and_the_timeline(agent_client, agent):
    customer = CustomerFactory()
    ticket = ticket_create(customer, subject="Lid broken")
    services.ticket_reply(ticket=ticket, body="A new lid is on its way", by=agent)
    services.ticket_reply(ticket=ticket, body="secret note", by=agent, public=False)
    body = agent_client.get(customer.get_absolute_url() + "?timeline=1").content.decode()  # the timeline in the page
    assert 'id="tickets-panel"' in body and ticket.reference in body
    assert "Ticket opened" in body and "A new lid is on its way" in body
    assert "secret note" not in body  # internal notes stay on the ticket
    only_tickets = agent_client.get(reverse("customers:timeline", args=[customer.pk]) + "?kind=ticket")
    body = only_tickets.content.decode()
    assert "A new lid is on its way" in body and "Ticket opened" in body and "secret note" not in body
    assert 'data-kind="touchpoint"' not in body


def test_marketing_sees_no_tickets_panel(client):
    client.force_login(UserFactory(username="mk", role="Marketing"))
    customer = CustomerFactory()
    ticket_create(customer)
    body = client.get(customer.get_absolute_url()).content.decode()
    assert 'id="tickets-panel"' not in body


def test_a_nul_in_a_customer_search_is_a_space_not_a_server_error(support_client):
    CustomerFactory(family_name="Sato")
    for url in (reverse("feedback:customer_search"), reverse("feedback:ticket_create")):
        response = support_client.get(url, {"q": "Sa\x00to"})
        assert response.status_code == 200
    response = support_client.get(reverse("feedback:customer_search"), {"q": "Sato\x00"})
    assert "Sato" in response.content.decode()
