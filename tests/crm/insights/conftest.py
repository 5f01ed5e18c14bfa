"""The insights test dataset: a handful of customers whose every figure is computed by hand below.

``insights_data`` builds it (rows written directly, at chosen times, so nothing else adds to them) and returns
an ``InsightsData`` with the periods and the expected figures. The lapse window is set to 30 days.

Days are in Asia/Tokyo; "today" is 2026-06-30. June = 2026-06-01..30; the period before = 2026-05-02..31.

Customers (created; touchpoints):
  A 01-10; purchase 10,000 (01-10), interaction 04-20, purchases 5,000 and 3,000 (06-05), return 2,000 (06-20)
  B 05-10; interaction 05-10, purchase 4,000 at 00:30 on 06-01 (still 05-31 in UTC)
  C 06-15; purchases 6,000 (06-15) and 1,000 (06-25)
  D 03-01; interactions 03-01 and 04-25, then nothing (lapses 05-25)
  E 04-01; interactions 05-10 and 06-28 (a gap of 49 days: lapsed 06-09, came back)
  F 06-10; only a newsletter Tsunagu sent by itself (06-12): never active
  G 02-01; interaction 05-20, then nothing (lapses 06-19)

June: new C, F = 2; active A, B, C, E = 4; live at start (active 05-02..31) B, E, G = 3; lapsed E (06-09),
  G (06-19) = 2 -> churn 66.7 %, retention 33.3 %; purchasers A, B, C = 3; repeat A (bought before), C (twice)
  = 2 -> 66.7 %; orders 5; sales 19,000, refunds 2,000 -> revenue 17,000; AOV 19,000 / 5 = 3,800;
  CLV to date (10,000 + 17,000) / 3 buyers = 9,000; CLV predicted None (nobody was live a year before).
May (05-02..31): new B = 1; active B, E, G = 3; live at start (active 04-02..05-01) A, D = 2; lapsed A
  (04-20 -> 06-05, lapse day 05-20), D (05-25) = 2 -> churn 100 %, retention 0 %; no purchases: purchasers 0,
  repeat rate None, orders 0, revenue 0, AOV None; CLV to date 10,000 / 1 = 10,000.

Tickets: T1 (A) opened 06-03 10:00, replied 12:00 (2 h, due 18:00), resolved 06-04 (due 06-05);
  T2 (B) opened 06-10 09:00, replied 15:00 (6 h, due 13:00: breached), resolved 06-13 (due 06-12: breached);
  T3 (C) opened 06-20 09:00, due 13:00, unanswered and breached, open;
  T4 (E) opened 05-20 09:00, replied 10:00 (1 h, due 17:00), open.
  June: median first response 4.0 h; first responses due 3 (T1, T2, T3) met 1, resolutions due 2 met 1
  -> SLA 40.0 %. May: 1.0 h; 1 due, 1 met -> 100.0 %. Open tickets now: T3, T4 = 2.
Answers: June NPS 10, 9, 7, 3 -> (2 - 1) / 4 = 25.0; CSAT 5, 4, 2 -> 66.7 %. May NPS 6 -> -100.0; CSAT None.
Loyalty: A Gold joined 01-10; B Regular 05-10; C Regular 06-15; D Regular 03-01, closed 05-15.
  Ledger: A earn 100 (01-10), earn 80 (06-05), redeem -50 (06-21); B bonus 20 (05-10), earn 40 (06-01);
  D earn 30 (03-01), expire -30 (04-30); C earn 60 (06-15), adjust -10 (06-25).
  June: members 3 (A, B, C); with an entry A, B, C -> 100.0 %; issued 180; redeemed 50; outstanding 240.
  May: members 2 (A, B) and D, who left on 05-15: 3; with an entry B -> 33.3 %; issued 20; redeemed 0;
  outstanding 120.
  Tiers now: Regular 2, Gold 1.
Cohorts (12 months to June 2026): January: 1 customer, offsets 0 and 5 -> [1, 0, 0, 0, 0, 1, None…];
  June: 2 customers -> [2, None…].
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from customers.models import Customer
from feedback.models import Status, Survey, Ticket
from loyalty.models import LedgerEntry, Membership
from tests.factories import CustomerFactory, programme_with_tiers
from touchpoints.models import Direction, Touchpoint, TouchpointType

TOKYO = ZoneInfo("Asia/Tokyo")
TODAY = dt.date(2026, 6, 30)
_keys = itertools.count(1)


def at(month: int, day: int, hour: int = 12, minute: int = 0, year: int = 2026) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=TOKYO)


@dataclass
class InsightsData:
    today: dt.date
    june: object  # crm.insights.metrics.Period
    may: object
    empty: object
    customers: dict[str, Customer]
    june_figures: dict[str, object] = field(default_factory=dict)
    may_figures: dict[str, object] = field(default_factory=dict)


def touch(customer: Customer, when: dt.datetime, slug: str = "research", **kwargs) -> Touchpoint:
    kind = TouchpointType.objects.get(slug=slug)
    return Touchpoint.objects.create(customer=customer, type=kind, stage=kind.stage, occurred_at=when, **kwargs)


def ledger(membership: Membership, kind: str, points: int, when: dt.datetime) -> LedgerEntry:
    return LedgerEntry.objects.create(
        membership=membership,
        kind=kind,
        points=points,
        reason="test",
        source=LedgerEntry.Source.STAFF,
        key=f"insights-{next(_keys)}",
        created_at=when,
    )


def member(customer: Customer, programme, tier_name: str, joined: dt.datetime, closed: dt.datetime | None = None):
    n = next(_keys)
    return Membership.objects.create(
        customer=customer,
        programme=programme,
        tier=programme.tiers.get(name=tier_name),
        joined_at=joined,
        joined_on=joined.date(),
        member_number=f"T{n:06d}",
        referral_code=f"R{n:06d}",
        status=Membership.Status.CLOSED if closed else Membership.Status.ACTIVE,
        closed_at=closed,
    )


def ticket(customer: Customer, opened: dt.datetime, **kwargs) -> Ticket:
    return Ticket.objects.create(customer=customer, subject="Test", created_at=opened, **kwargs)


def answer(customer: Customer, kind: str, score: int, when: dt.datetime) -> Survey:
    return Survey.objects.create(customer=customer, kind=kind, score=score, answered_at=when)


@pytest.fixture
def insights_data(db, settings) -> InsightsData:
    from crm.insights.metrics import Period

    settings.TSUNAGU_LAPSE_DAYS = 30
    c = {
        name: CustomerFactory(created_at=created)
        for name, created in {
            "A": at(1, 10, 9),
            "B": at(5, 10, 9),
            "C": at(6, 15, 9),
            "D": at(3, 1, 9),
            "E": at(4, 1, 9),
            "F": at(6, 10, 9),
            "G": at(2, 1, 9),
        }.items()
    }
    touch(c["A"], at(1, 10), "transaction", amount=Decimal(10000))
    touch(c["A"], at(4, 20))
    touch(c["A"], at(6, 5, 10), "transaction", amount=Decimal(5000))
    touch(c["A"], at(6, 5, 15), "transaction", amount=Decimal(3000))
    touch(c["A"], at(6, 20), "return", amount=Decimal(2000))
    touch(c["B"], at(5, 10))
    touch(c["B"], at(6, 1, 0, 30), "transaction", amount=Decimal(4000))
    touch(c["C"], at(6, 15), "transaction", amount=Decimal(6000))
    touch(c["C"], at(6, 25), "transaction", amount=Decimal(1000))
    touch(c["D"], at(3, 1))
    touch(c["D"], at(4, 25))
    touch(c["E"], at(5, 10))
    touch(c["E"], at(6, 28))
    touch(c["F"], at(6, 12), source=Touchpoint.Source.SYSTEM, direction=Direction.OUTBOUND)
    touch(c["G"], at(5, 20))

    ticket(
        c["A"],
        at(6, 3, 10),
        first_response_due_at=at(6, 3, 18),
        first_responded_at=at(6, 3, 12),
        resolution_due_at=at(6, 5, 18),
        resolved_at=at(6, 4, 10),
        status=Status.RESOLVED,
    )
    ticket(
        c["B"],
        at(6, 10, 9),
        first_response_due_at=at(6, 10, 13),
        first_responded_at=at(6, 10, 15),
        first_response_breached=True,
        resolution_due_at=at(6, 12, 18),
        resolved_at=at(6, 13, 10),
        resolution_breached=True,
        status=Status.RESOLVED,
    )
    ticket(
        c["C"],
        at(6, 20, 9),
        first_response_due_at=at(6, 20, 13),
        first_response_breached=True,
        resolution_due_at=at(6, 25, 18),
        status=Status.OPEN,
    )
    ticket(
        c["E"],
        at(5, 20, 9),
        first_response_due_at=at(5, 20, 17),
        first_responded_at=at(5, 20, 10),
        status=Status.OPEN,
    )
    for who, score in (("A", 10), ("B", 9), ("C", 7), ("E", 3)):
        answer(c[who], Survey.Kind.NPS, score, at(6, 15))
    for who, score in (("A", 5), ("B", 4), ("C", 2)):
        answer(c[who], Survey.Kind.CSAT, score, at(6, 16))
    answer(c["G"], Survey.Kind.NPS, 6, at(5, 21))

    programme = programme_with_tiers()
    ma = member(c["A"], programme, "Gold", at(1, 10, 9))
    mb = member(c["B"], programme, "Regular", at(5, 10, 9))
    mc = member(c["C"], programme, "Regular", at(6, 15, 9))
    md = member(c["D"], programme, "Regular", at(3, 1, 9), closed=at(5, 15))
    ledger(ma, "earn", 100, at(1, 10))
    ledger(ma, "earn", 80, at(6, 5))
    ledger(ma, "redeem", -50, at(6, 21))
    ledger(mb, "bonus", 20, at(5, 10))
    ledger(mb, "earn", 40, at(6, 1))
    ledger(md, "earn", 30, at(3, 1))
    ledger(md, "expire", -30, at(4, 30))
    ledger(mc, "earn", 60, at(6, 15))
    ledger(mc, "adjust", -10, at(6, 25))

    data = InsightsData(
        today=TODAY,
        june=Period(dt.date(2026, 6, 1), dt.date(2026, 6, 30)),
        may=Period(dt.date(2026, 5, 2), dt.date(2026, 5, 31)),
        empty=Period(dt.date(2025, 1, 1), dt.date(2025, 1, 31)),
        customers=c,
    )
    data.june_figures = {
        "new_customers": 2,
        "active_customers": 4,
        "retention_rate": 33.3,
        "churn_rate": 66.7,
        "lapsed_customers": 2,
        "purchasers": 3,
        "repeat_purchase_rate": 66.7,
        "orders": 5,
        "revenue": Decimal(17000),
        "average_order_value": Decimal(3800),
        "clv_historical": Decimal(9000),
        "clv_predicted": None,
        "nps": 25.0,
        "csat": 66.7,
        "median_first_response": 4.0,
        "sla_compliance": 40.0,
        "open_tickets": 2,
        "loyalty_members": 3,
        "active_member_share": 100.0,
        "points_issued": 180,
        "points_redeemed": 50,
        "points_outstanding": 240,
    }
    data.may_figures = {
        "new_customers": 1,
        "active_customers": 3,
        "retention_rate": 0.0,
        "churn_rate": 100.0,
        "lapsed_customers": 2,
        "purchasers": 0,
        "repeat_purchase_rate": None,
        "orders": 0,
        "revenue": Decimal(0),
        "average_order_value": None,
        "clv_historical": Decimal(10000),
        "nps": -100.0,
        "csat": None,
        "median_first_response": 1.0,
        "sla_compliance": 100.0,
        "loyalty_members": 2,
        "active_member_share": 33.3,
        "points_issued": 20,
        "points_redeemed": 0,
        "points_outstanding": 120,
    }
    return data
