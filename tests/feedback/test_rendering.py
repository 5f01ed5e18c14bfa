"""The parts of the queue and the ticket page written in Python (feedback/queue.py, feedback/conversation.py) say
what the templates used to: the filter boxes keep the chosen options, the conversation shows each message's kind,
author, delivery and time, in the reader's language."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import translation

from feedback import services
from feedback.models import TicketMessage
from tests.factories import CustomerFactory, UserFactory, ticket_create

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english_afterwards():
    """A request in Japanese leaves the thread in Japanese (LocaleMiddleware activates it): later tests read English."""
    with translation.override("en"):
        yield


@pytest.fixture
def agent():
    return UserFactory(username="agent", first_name="Aki", last_name="Agent", role="Support")


@pytest.fixture
def agent_client(client, agent):
    client.force_login(agent)
    return client


def selected(page: str, name: str) -> list[str]:
    """The values of the selected options of the select box ``name``."""
    box = re.search(rf'<select name="{name}" id="id_{name}" class="form-select">(.*?)</select>', page, re.S)
    assert box, name
    return re.findall(r'<option value="([^"]*)" selected>', box.group(1))


def test_the_filter_boxes_keep_the_chosen_options(agent_client):
    ticket_create()
    url = reverse("feedback:queue")

    page = agent_client.get(url).content.decode()
    assert [selected(page, n) for n in ("status", "priority", "kind", "sort")] == [[""], [""], [""], ["due"]]

    page = agent_client.get(url + "?queue=all&status=waiting&priority=high&kind=praise").content.decode()
    assert [selected(page, n) for n in ("status", "priority", "kind", "sort")] == [
        ["waiting"],
        ["high"],
        ["praise"],
        ["due"],
    ]

    page = agent_client.get(url + "?queue=all").content.decode()
    assert selected(page, "sort") == ["-created"]  # the sort in force for "everything"

    page = agent_client.get(url + "?queue=open&sort=created").content.decode()
    assert selected(page, "sort") == ["created"]
    page = agent_client.get(url + "?queue=open&status=bogus").content.decode()
    assert selected(page, "status") == [] and selected(page, "sort") == ["due"]
    assert '<label for="id_kind" class="form-label small">Kind</label>' in page


def test_the_filter_boxes_speak_the_readers_language(agent_client):
    page = agent_client.get(reverse("feedback:queue"), headers={"Accept-Language": "ja"}).content.decode()
    assert '<option value="">Any status</option>' not in page
    assert len(re.findall(r'<select name="(status|priority|kind|sort)"', page)) == 4


def test_the_conversation_shows_kind_author_delivery_and_time(agent_client, agent):
    # Given a customer who asked not to be contacted, a reply (not mailed), a note and a message with no author
    ticket = ticket_create(CustomerFactory(do_not_contact=True))
    services.ticket_reply(ticket=ticket, body="We tried <b>hard</b>", by=agent)
    services.ticket_reply(ticket=ticket, body="Internal thoughts", by=agent, public=False)
    TicketMessage.objects.create(ticket=ticket, customer=ticket.customer, kind="note", body="From the system")

    # When the agent opens the ticket
    page = agent_client.get(ticket.get_absolute_url()).content.decode()

    # Then each message says what it is, who wrote it and whether it was mailed, and shows its text as text
    reply = TicketMessage.objects.get(kind="reply")
    item = page[page.index(f'id="message-{reply.pk}"') : page.index("</li>", page.index(f'id="message-{reply.pk}"'))]
    assert "Reply to the customer · Aki Agent" in item
    assert 'data-delivery="skipped" title="Do not contact"' in item and "not mailed: Do not contact" in item
    assert "We tried &lt;b&gt;hard&lt;/b&gt;" in item
    assert re.search(r'<time datetime="\d{4}-\d\d-\d\dT[\d:.]+\+09:00">', item)
    assert "Internal note · Aki Agent" in page
    assert "Internal note · System" in page


def test_the_conversation_is_in_the_readers_language(agent_client, agent):
    ticket = ticket_create()
    services.ticket_reply(ticket=ticket, body="A note", by=agent, public=False)
    page = agent_client.get(ticket.get_absolute_url(), headers={"Accept-Language": "ja"}).content.decode()
    assert 'data-kind="note"' in page and "Internal note ·" not in page
