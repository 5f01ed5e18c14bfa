"""Placeholders with fallbacks: {name|text when empty} and {if name}…{end}, so a non-member does not read
「現在のランクは、ポイント残高は0ポイントです。」."""

from __future__ import annotations

import pytest

from tests.factories import CustomerFactory, programme_with_tiers
from touchpoints.outreach import placeholders
from touchpoints.outreach.forms import MessageTemplateForm

pytestmark = pytest.mark.django_db

TEXT = (
    "{customer_name}様\n{if tier}現在のランクは{tier}、ポイント残高は{points_balance}ポイントです。{end}\n"
    "ランク：{tier|一般}"
)


def test_a_non_member_gets_neither_the_sentence_nor_an_empty_rank():
    customer = CustomerFactory(family_name="安藤", given_name="裕子")

    text = placeholders.render(TEXT, customer=customer, language="ja")

    assert text == "安藤 裕子様\n\nランク：一般"
    assert "ポイント残高は0" not in text


def test_a_member_gets_the_sentence_with_their_values():
    from loyalty import services as loyalty

    programme = programme_with_tiers()
    customer = CustomerFactory(family_name="安藤", given_name="裕子")
    loyalty.membership_join(customer=customer, programme=programme)
    with placeholders.bulk([customer.pk]):
        text = placeholders.render(TEXT, customer=customer, language="ja")
    assert "現在のランクは" in text and "ポイント残高は0ポイントです。" in text and "ランク：一般" not in text


def test_the_template_form_accepts_the_fallback_syntax_and_still_names_unknown_placeholders():
    data = {
        "name": "Points",
        "channel": "email",
        "purpose": "transactional",
        "body_ja": TEXT,
        "is_active": "on",
    }
    good = MessageTemplateForm(data=data)
    good.is_valid()
    assert "body_ja" not in good.errors
    bad = MessageTemplateForm(data={**data, "body_ja": "{if tierr}x{end} {pointz|0}"})
    bad.is_valid()
    assert "{tierr}" in str(bad.errors.get("body_ja")) and "{pointz}" in str(bad.errors.get("body_ja"))


def test_a_template_gets_an_identifier_made_from_its_name(marketing_client):
    from django.urls import reverse

    from touchpoints.outreach.models import MessageTemplate

    base = {"channel": "email", "purpose": "marketing", "body_en": "Hi {unsubscribe_url}", "is_active": "on"}
    marketing_client.post(reverse("outreach:template_create"), {**base, "name": "Spring sale"})
    marketing_client.post(reverse("outreach:template_create"), {**base, "name": "Spring  sale"})
    marketing_client.post(reverse("outreach:template_create"), {**base, "name": "春のセール"})
    bad = marketing_client.post(reverse("outreach:template_create"), {**base, "name": "x", "slug": "春"})

    slugs = list(MessageTemplate.objects.filter(name__in=["Spring sale", "春のセール"]).values_list("slug", flat=True))
    assert sorted(slugs)[:2] == ["spring-sale", "spring-sale-2"] and any(s.startswith("template-") for s in slugs)
    page = bad.content.decode()
    assert "leave it empty" in page and "“slug”" not in page and "valid slug" not in page.lower()


def test_a_template_is_previewed_before_it_is_saved(marketing_client):
    from django.urls import reverse

    from tests.factories import consenting_customer
    from touchpoints.outreach.models import MessageTemplate

    consenting_customer(family_name="安藤", given_name="裕子", email="ando@example.com", preferred_language="ja")
    form = marketing_client.get(reverse("outreach:template_create")).content.decode()
    assert 'id="preview-form"' in form

    preview = marketing_client.post(
        reverse("outreach:template_preview_unsaved"),
        {
            "name": "Unsaved",
            "channel": "email",
            "purpose": "marketing",
            "body_format": "markdown",
            "subject_ja": "{customer_name}様へ",
            "body_ja": "**{customer_name}様**\n{if tier}ランク {tier}{end}\n{unsubscribe_url}",
            "customer": "ando@example.com",
        },
    )

    body = preview.content.decode()
    assert preview.status_code == 200 and "安藤 裕子様へ" in body and "<strong>安藤 裕子様</strong>" in body
    assert "ランク" not in body and not MessageTemplate.objects.filter(name="Unsaved").exists()
