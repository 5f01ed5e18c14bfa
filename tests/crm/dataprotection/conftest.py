"""A customer with something in every section the disclosure holds and the erasure anonymises."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.utils import timezone

from crm.audit.context import history_context
from customers import services as customer_services
from customers.models import Customer, ImportBatch
from feedback.models import Survey, Ticket
from feedback.services.inbound import ticket_receive
from feedback.services.tickets import ticket_reply
from loyalty.models import Greeting, LedgerEntry, Membership, Redemption
from tests.factories import (
    CustomerFactory,
    ProgrammeFactory,
    RewardFactory,
    TagFactory,
    member_join,
    purchase_record,
    ticket_create,
    touchpoint_create,
)
from touchpoints.outreach.models import OutboundMessage, Purpose
from touchpoints.outreach.outbox import message_enqueue

SECRETS = [
    "Hanako",
    "Yamada",
    "ヤマダ",
    "ハナコ",
    "hanako.yamada@example.jp",
    "+819012345678",
    "Chiyoda 1-1",
    "Secret note about the allergy",
    "Phoned about her order of green tea",
    "The kettle lid does not close",
    "Bought last week; the lid springs open.",
    "We will send a replacement lid",
    "Thank you Hanako, here is your receipt",
    "The tea was lovely",
    "hanako.old@example.jp",
    "Note on the old record",
    "Hanako <hanako.home@example.jp>",
    "The lid is still broken, sorry",
]


@dataclass
class FullCustomer:
    customer: Customer
    membership: Membership
    ticket: Ticket


@pytest.fixture
def full_customer(db, manager) -> FullCustomer:
    customer = CustomerFactory(
        family_name="Yamada",
        given_name="Hanako",
        family_name_kana="ヤマダ",
        given_name_kana="ハナコ",
        email="hanako.yamada@example.jp",
        phone="+819012345678",
        birth_date=dt.date(1985, 4, 3),
        postal_code="100-0001",
        region="Tokyo",
        city="Chiyoda",
        address_line1="Chiyoda 1-1",
        marketing_consent=True,
        consent_source=Customer.ConsentSource.WEB_FORM,
        consent_evidence="Signed up on the shop form",
    )
    with history_context(user=manager.pk):
        customer_services.customer_update(customer=customer, data={"company": "Yamada Tea"}, by=manager)
        customer_services.note_create(customer=customer, body="Secret note about the allergy", author=manager)
    # a duplicate record of hers, with a note, merged into this one
    duplicate = CustomerFactory(family_name="Yamada", given_name="Hanako", email="hanako.old@example.jp")
    with history_context(user=manager.pk):
        customer_services.note_create(customer=duplicate, body="Note on the old record", author=manager)
        customer_services.customer_merge(primary=customer, duplicate=duplicate, by=manager)
    customer.refresh_from_db()
    customer.tag_links.create(tag=TagFactory(name="VIP"))
    touchpoint_create(customer, "research", summary="Phoned about her order of green tea", metadata={"topic": "tea"})
    purchase_record(customer, Decimal(5000), order_reference="ORD-1")
    ticket = ticket_create(customer=customer, subject="The kettle lid does not close")
    ticket_reply(ticket=ticket, body="We will send a replacement lid", by=manager)
    ticket_receive(
        customer=customer,
        ticket=ticket,
        channel="email",
        text="The lid is still broken, sorry",
        external_id="<answer-1@example.jp>",
        sender="Hanako <hanako.home@example.jp>",
    )
    message_enqueue(
        customer=customer,
        key="receipt-1",
        purpose=Purpose.TRANSACTIONAL,
        subject="Your receipt",
        body="Thank you Hanako, here is your receipt",
    )
    programme = ProgrammeFactory()
    membership = member_join(customer=customer, programme=programme)
    LedgerEntry.objects.create(
        membership=membership, kind="earn", points=120, reason="Purchase", source="staff", key="dp-earn"
    )
    LedgerEntry.objects.create(
        membership=membership, kind="redeem", points=-20, reason="Reward", source="staff", key="dp-redeem"
    )
    Redemption.objects.create(
        membership=membership,
        reward=RewardFactory(programme=programme, name="Tea towel"),
        points=20,
        voucher_code="TEA-0001",
        idempotency_key="dp-redemption",
    )
    Greeting.objects.create(
        customer=customer, membership=membership, kind="birthday", occasion="2026", due_on=dt.date(2026, 4, 3)
    )
    Survey.objects.create(
        customer=customer, kind="nps", score=9, comment="The tea was lovely", answered_at=timezone.now()
    )
    ImportBatch.objects.create(file_name="customers.csv", content=b"Yamada,Hanako", customer_ids=[customer.pk])
    assert OutboundMessage.objects.filter(customer=customer).exists()
    return FullCustomer(customer=customer, membership=membership, ticket=ticket)
