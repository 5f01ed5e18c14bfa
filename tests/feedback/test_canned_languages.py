"""Canned responses in two languages, as email templates are: the picker inserts the customer's; the demo seeds
some; a ticket page with none offers to create one."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from feedback import services
from feedback.management.commands.seed_feedback import seed_canned_responses
from feedback.models import CannedResponse
from tests.factories import CannedResponseFactory, CustomerFactory, UserFactory, ticket_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent_client(client):
    client.force_login(UserFactory(username="agent", first_name="Aki", last_name="Agent", role="Support"))
    return client


def _ticket(customer):
    return ticket_create(customer)


@pytest.mark.parametrize(
    ("language", "names", "expected"),
    [
        ("ja", ("佐藤", "健二"), "佐藤 健二様、申し訳ございません。"),
        ("en", ("Sato", "Kenji"), "Dear Kenji Sato, sorry."),
    ],
)
def test_the_picker_inserts_the_text_in_the_customers_language(agent_client, language, names, expected):
    customer = CustomerFactory(family_name=names[0], given_name=names[1], preferred_language=language)
    canned = CannedResponseFactory(
        body="{customer_name}様、申し訳ございません。", body_en="Dear {customer_name}, sorry."
    )
    ticket = _ticket(customer)

    filled = agent_client.get(reverse("feedback:ticket_canned", args=[ticket.pk]) + f"?canned={canned.pk}")

    assert expected in filled.content.decode()


def test_a_reply_in_one_language_only_is_used_for_everyone():
    customer = CustomerFactory(preferred_language="en")
    canned = services.canned_response_save(title="Only Japanese", body="ご連絡ありがとうございます。")
    assert services.canned_response_render(canned=canned, ticket=_ticket(customer), agent=None) == (
        "ご連絡ありがとうございます。"
    )
    with pytest.raises(ValidationError, match="in Japanese, in English, or both"):
        services.canned_response_save(title="Empty", body=" ", body_en="")
    with pytest.raises(ValidationError, match="Unknown placeholders"):
        services.canned_response_save(title="Typo", body="", body_en="Hi {custmer_name}")


def test_the_ticket_page_offers_to_create_one_when_there_are_none(agent_client):
    ticket = _ticket(CustomerFactory())
    page = agent_client.get(reverse("feedback:ticket_detail", args=[ticket.pk])).content.decode()
    assert 'id="canned-none"' in page and reverse("feedback:canned_create") in page


def test_the_demo_seeds_bilingual_canned_responses_once():
    first, second = seed_canned_responses(), seed_canned_responses()

    assert first >= 3 and second == 0
    assert all(c.body and c.body_en for c in CannedResponse.objects.all())
