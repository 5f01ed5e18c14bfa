"""The customer timeline as staff get it (the htmx fragment, and the page with ``?timeline=1``): every kind's entries
written in Python with their fields, typed values escaped, in the user's language, and a constant number of queries
however long the history and whichever kinds it holds."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from customers import timeline
from feedback.services import ticket_reply
from tests.factories import (
    CustomerFactory,
    NoteFactory,
    UserFactory,
    member_join,
    programme_with_tiers,
    purchase_record,
    ticket_create,
    touchpoint_create,
)
from tests.touchpoints.test_timeline import record_many
from touchpoints.services import journey_stage_move

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert('x')</script>"


@pytest.fixture
def history(django_capture_on_commit_callbacks):
    """A member with one entry of each kind: a note, a purchase (and the points it earned), a stage change by hand,
    a ticket assigned to an agent and a reply to it."""
    agent = UserFactory(username="agent", first_name="Aiko", last_name="Mori")
    customer = CustomerFactory()
    member_join(customer, programme_with_tiers())
    now = timezone.now()
    NoteFactory(customer=customer, author=agent, body="Prefers calls", created_at=now - dt.timedelta(days=5))
    with django_capture_on_commit_callbacks(execute=True):
        purchase_record(customer, 12800, "ORD-77", occurred_at=now - dt.timedelta(days=4), summary="Kettle")
    journey_stage_move(customer=customer, to_stage="retention", reason="VIP", by=agent)
    ticket = ticket_create(customer, subject="Lid is loose", kind="complaint", assignee=agent)
    ticket_reply(ticket=ticket, body="A new lid is on its way.", by=agent)
    return customer, ticket


def fragment(client, customer, **params) -> str:
    response = client.get(reverse("customers:timeline", args=[customer.pk]), params, headers={"HX-Request": "true"})
    assert response.status_code == 200
    return response.content.decode()


def test_every_kind_shows_its_fields(manager_client, history):
    # given: a member with a note, a purchase and its points, a stage change, a ticket and a reply
    customer, ticket = history

    # when: staff open the timeline
    body = fragment(manager_client, customer)

    # then: each entry is there, with what its template showed
    for kind in ("note", "touchpoint", "transition", "ticket", "loyalty"):
        assert f'<li class="timeline-item" data-kind="{kind}">' in body
    assert "Note by Aiko Mori · " in body and "Prefers calls" in body
    assert "¥12,800" in body and "<code>ORD-77</code>" in body and "Kettle" in body
    assert "+128 points" in body
    assert "by hand, by Aiko Mori" in body and "VIP" in body
    ticket_url = reverse("feedback:ticket_detail", args=[ticket.pk])
    assert f'<a href="{ticket_url}">{ticket.reference}</a>' in body and "assigned to Aiko Mori" in body
    assert f'<a href="{ticket_url}#message-' in body and "A new lid is on its way." in body
    local = timezone.localtime(ticket.created_at)
    assert f'<time datetime="{local.isoformat()[:16]}' in body


def test_typed_values_are_escaped(manager_client):
    # given: a script typed into a note, a touchpoint's fields and a ticket's subject
    customer = CustomerFactory()
    NoteFactory(customer=customer, body=f"note {SCRIPT}")
    touchpoint_create(customer, "research", summary=f"summary {SCRIPT}", campaign=SCRIPT, utm_source=SCRIPT)
    ticket_create(customer, subject=f"subject {SCRIPT}")

    # when: staff open the timeline, as htmx and without JavaScript
    pages = [fragment(manager_client, customer), manager_client.get(f"{customer.get_absolute_url()}?timeline=1")]

    # then: the script is text, never markup
    for body in (pages[0], pages[1].content.decode()):
        assert "<script>alert" not in body
        for text in ("note", "summary", "subject"):
            assert f"{text} &lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in body


def test_entries_are_written_in_the_current_language(history):
    # given: the member's history
    customer, _ticket = history

    # when: the page is rendered in Japanese
    with translation.override("ja"):
        page = timeline.render_page(timeline.timeline_page(customer))
    html = "".join(entry.html for entry in page.entries)

    # then: labels, messages and dates are Japanese; what was typed stays as typed
    assert all(entry.html for entry in page.entries)
    assert "チケットを起票" in html and "担当：Aiko Mori" in html and "返信を送信" in html
    assert "Aiko Moriのメモ · " in html and "Aiko Moriが手動で移動" in html
    assert "+128 ポイント" in html and "注文番号 <code>ORD-77</code>" in html
    assert "年" in html and "Lid is loose" in html


def test_the_fragment_follows_the_browsers_language(manager_client, history):
    # given: the member's history; when: a browser asking for Japanese loads the timeline
    customer, _ticket = history
    body = manager_client.get(
        reverse("customers:timeline", args=[customer.pk]), headers={"HX-Request": "true", "Accept-Language": "ja"}
    ).content.decode()
    # then: the entries are in Japanese
    assert "チケットを起票" in body and "Ticket opened" not in body


def _timeline_queries(client, customer) -> int:
    fragment(client, customer)  # warm the session and the caches
    with CaptureQueriesContext(connection) as ctx:
        fragment(client, customer)
    return len(ctx.captured_queries)


def test_query_count_is_the_same_with_10_and_1000_touchpoints_and_every_kind(manager_client, history):
    # given: the member with every kind of entry and 10 touchpoints, and one like it with 1,000
    customer, _ticket = history
    record_many(customer, 10)
    longer = CustomerFactory()
    member_join(longer, programme_with_tiers(name="Other club"))
    NoteFactory(customer=longer)
    ticket_create(longer)
    record_many(longer, 1000)

    # when / then: the same count: one query per provider, no query per entry, no query for the loyalty account
    assert _timeline_queries(manager_client, customer) == _timeline_queries(manager_client, longer)
    for someone in (customer, longer):
        with CaptureQueriesContext(connection) as ctx:
            fragment(manager_client, someone)
        sql = [q["sql"] for q in ctx.captured_queries]
        assert not any('FROM "loyalty_loyaltyaccount"' in s for s in sql)
        # each provider's table read once (a column left out of a provider's .only() would cost a query per entry)
        for table in (
            "customers_note",
            "touchpoints_touchpoint",
            "touchpoints_stagetransition",
            "feedback_ticketmessage",
            "loyalty_ledgerentry",
            "loyalty_greeting",
        ):
            assert sum(f'FROM "{table}"' in s for s in sql) == 1, table
        assert sum('FROM "auth_user"' in s for s in sql) <= 1  # the signed-in user, not an entry's author
    assert not any('"auth_user"."password"' in s for s in sql if "customers_note" in s or "touchpoints_" in s)


def test_a_customer_in_no_programme_costs_no_loyalty_query(manager_client):
    customer = CustomerFactory()
    record_many(customer, 3)
    with CaptureQueriesContext(connection) as ctx:
        fragment(manager_client, customer)
    # (the account is joined into the customer's query, which tells there is nothing to ask)
    assert not any('FROM "loyalty_' in q["sql"] for q in ctx.captured_queries)
