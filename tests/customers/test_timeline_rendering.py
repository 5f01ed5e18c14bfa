"""Each provider's Python renderer writes the markup its template writes (the template stays for entries rendered
alone, e.g. a note just added), in English and in Japanese, for every branch of the template. The rows are built in
memory, so the test needs no database."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.template.loader import render_to_string
from django.utils import translation

from customers import timeline
from customers.models import Note
from feedback.models import Ticket, TicketMessage
from loyalty.models import Greeting, LedgerEntry, Membership, Programme, Redemption
from touchpoints.models import ApiKey, StageTransition, Touchpoint, TouchpointType

User = get_user_model()
AT = dt.datetime(2025, 3, 9, 23, 30, tzinfo=dt.UTC)  # 2025-03-10 08:30 in Tokyo: the date changes with the zone
HOSTILE = "<script>alert('x')</script> & \"q\" {0} %(who)s"


def normalized(html: str) -> str:
    """Whitespace between block tags and runs of it elsewhere do not show; everything else must match."""
    html = re.sub(r"\s+", " ", str(html)).strip()
    return re.sub(r">\s+<", "><", html)


def alice() -> User:
    return User(pk=7, username="alice", first_name="Alice", last_name="Ito")


def nameless() -> User:
    return User(pk=8, username="bob", first_name="", last_name="")


def club() -> Membership:
    return Membership(pk=3, programme=Programme(pk=2, name=f"Club {HOSTILE}"))


def touchpoints() -> list[Touchpoint]:
    purchase = TouchpointType(pk=1, name="Purchase", stage="decision")
    custom = TouchpointType(pk=2, name=f"Custom {HOSTILE}", stage="awareness")
    return [
        Touchpoint(pk=1, type=purchase, stage="decision", channel="store", direction="inbound", occurred_at=AT),
        Touchpoint(
            pk=2,
            type=purchase,
            stage="decision",
            channel="web",
            direction="outbound",
            occurred_at=AT,
            summary=HOSTILE,
            amount=Decimal("12800.50"),
            currency="JPY",
            order_reference=f"O-1 {HOSTILE}",
            campaign=HOSTILE,
            utm_source=HOSTILE,
            recorded_by_user=alice(),
        ),
        Touchpoint(
            pk=3,
            type=custom,
            stage="awareness",
            channel="line",
            direction="inbound",
            occurred_at=AT,
            amount=Decimal("1000"),
            utm_source="news",
            source="api",
            recorded_by_api_key=ApiKey(pk=1, name=f"Shop {HOSTILE}"),
        ),
        Touchpoint(
            pk=4,
            type=custom,
            stage="unknown-stage",
            channel="phone",
            direction="inbound",
            occurred_at=AT,
            campaign="spring",
            source="import",
            recorded_by_user=nameless(),
        ),
    ]


def transitions() -> list[StageTransition]:
    tp = Touchpoint(pk=9, type=TouchpointType(pk=1, name="Purchase"))
    return [
        StageTransition(pk=1, to_stage="awareness", at=AT, touchpoint=tp),
        StageTransition(pk=2, from_stage="awareness", to_stage="decision", at=AT, is_manual=True, by=alice()),
        StageTransition(pk=3, from_stage="decision", to_stage="retention", at=AT, is_manual=True, reason=HOSTILE),
        StageTransition(pk=4, from_stage="retention", to_stage="advocacy", at=AT),
    ]


def notes() -> list[Note]:
    return [
        Note(pk=1, body=HOSTILE, created_at=AT, author=alice()),
        Note(pk=2, body="plain", created_at=AT, author=nameless()),
        Note(pk=3, body="orphan", created_at=AT, author=None),
    ]


def ticket_messages() -> list[TicketMessage]:
    assigned = Ticket(pk=12, kind="complaint", channel="email", status="open", subject=HOSTILE, assignee=alice())
    unassigned = Ticket(pk=13, kind="question", channel="widget", status="weird", subject="Lid")
    return [
        TicketMessage(pk=1, kind="opened", ticket=assigned, created_at=AT),
        TicketMessage(pk=2, kind="opened", ticket=unassigned, created_at=AT),
        TicketMessage(pk=3, kind="reply", ticket=assigned, created_at=AT, body=HOSTILE * 40, author=alice()),
        TicketMessage(pk=4, kind="reply", ticket=unassigned, created_at=AT, body="Thanks", author=None),
    ]


def ledger_entries() -> list[LedgerEntry]:
    return [
        LedgerEntry(
            pk=1,
            membership=club(),
            kind="earn",
            points=12800,
            source="purchase",
            reason=HOSTILE,
            created_at=AT,
            expires_on=dt.date(2026, 3, 31),
        ),
        LedgerEntry(
            pk=2,
            membership=club(),
            kind="redeem",
            points=-200,
            source="staff",
            reason="Free coffee",
            created_at=AT,
            redemption=Redemption(pk=1, voucher_code=f"V {HOSTILE}"),
            by=alice(),
            expires_on=dt.date(2026, 3, 31),
        ),
        LedgerEntry(pk=3, membership=club(), kind="adjust", points=0, source="staff", reason="zero", created_at=AT),
    ]


def greetings() -> list[Greeting]:
    return [
        Greeting(pk=1, membership=club(), kind="tier_upgrade", detail=HOSTILE, status="sent", created_at=AT),
        Greeting(pk=2, membership=club(), kind="purchase", detail="10", status="scheduled", created_at=AT),
        Greeting(pk=3, membership=club(), kind="points_expiring", detail="2025-04-01", status="failed", created_at=AT),
        Greeting(pk=4, membership=club(), kind="anniversary", detail="3", status="not_sent", created_at=AT),
        Greeting(
            pk=5, membership=club(), kind="birthday", occasion=HOSTILE, bonus_points=1500, status="sent", created_at=AT
        ),
    ]


ROWS = {
    "touchpoint": touchpoints,
    "transition": transitions,
    "note": notes,
    "ticket": ticket_messages,
    "loyalty": ledger_entries,
    "greeting": greetings,
}


@pytest.mark.parametrize("language", ["en", "ja"])
@pytest.mark.parametrize("kind", sorted(ROWS))
def test_a_providers_python_html_is_the_html_of_its_template(kind, language):
    # given: one provider's rows, every branch of its template among them
    provider = {p.kind: p for p in timeline.providers()}[kind]
    assert provider.render is not None
    rows = ROWS[kind]()
    entries = [timeline.TimelineEntry(at=AT, kind=kind, pk=r.pk, template=provider.template, obj=r) for r in rows]
    with translation.override(language):
        # when: the page renders them in Python, and each through its template as before
        page = timeline.render_page(timeline.TimelinePage(entries=list(entries), next_cursor=""))
        by_template = [render_to_string("customers/includes/_timeline_item.html", {"entry": e}) for e in entries]
    # then: the same markup, the typed values escaped once
    for entry, expected in zip(page.entries, by_template, strict=True):
        assert entry.html
        assert normalized(entry.html) == normalized(expected)
        assert "<script>" not in entry.html
