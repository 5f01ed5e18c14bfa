"""Seed the outreach message templates feedback sends: the confirmation of a message received, and the CSAT
and NPS invitations (staff edit them after; feedback falls back to its built-in text if one is deleted).

The texts are written out here so that this migration never changes (feedback/message_templates.py holds the
same texts for that fallback).
"""

from django.db import migrations
from django.utils.translation import gettext_noop

TEMPLATES = {
    "feedback-received": {
        "name": gettext_noop("Feedback: message received"),
        "purpose": "transactional",
        "subject_en": "We received your message ({ticket_reference})",
        "body_en": (
            "Thank you for contacting {shop_name}.\n\n"
            "We received your message and will answer as soon as we can. Your reference is "
            "{ticket_reference}: please quote it if you write to us again.\n\n"
            "{shop_name}"
        ),
        "subject_ja": "お問い合わせを受け付けました（{ticket_reference}）",
        "body_ja": (
            "{shop_name}へのお問い合わせありがとうございます。\n\n"
            "メッセージを受け付けました。担当者より順次ご連絡いたします。"
            "受付番号は {ticket_reference} です。再度ご連絡の際はこの番号をお知らせください。\n\n"
            "{shop_name}"
        ),
    },
    "csat-invite": {
        "name": gettext_noop("Feedback: CSAT survey after a resolved ticket"),
        "purpose": "transactional",
        "subject_en": "How did we do? ({ticket_reference})",
        "body_en": (
            "Dear {customer_name},\n\n"
            "We have resolved your request {ticket_reference}. How satisfied are you with our help? "
            "Answering takes a minute:\n\n"
            "{survey_url}\n\n"
            "Thank you,\n{shop_name}"
        ),
        "subject_ja": "サポートのご感想をお聞かせください（{ticket_reference}）",
        "body_ja": (
            "{customer_name}様\n\n"
            "お問い合わせ {ticket_reference} への対応が完了しました。"
            "今回の対応にどの程度ご満足いただけたか、以下のリンクからお聞かせください（1分ほどで終わります）。\n\n"
            "{survey_url}\n\n"
            "{shop_name}"
        ),
    },
    "nps-invite": {
        "name": gettext_noop("Feedback: NPS survey"),
        "purpose": "marketing",
        "subject_en": "Would you recommend {shop_name}?",
        "body_en": (
            "Dear {customer_name},\n\n"
            "How likely are you to recommend {shop_name} to a friend or colleague? "
            "Tell us on a scale from 0 to 10:\n\n"
            "{nps_survey_url}\n\n"
            "Thank you,\n{shop_name}\n\n"
            "Unsubscribe: {unsubscribe_url}"
        ),
        "subject_ja": "{shop_name}をおすすめいただけますか",
        "body_ja": (
            "{customer_name}様\n\n"
            "{shop_name}をご友人や同僚にすすめる可能性はどのくらいありますか。"
            "0から10の11段階でお聞かせください。\n\n"
            "{nps_survey_url}\n\n"
            "{shop_name}\n\n"
            "配信停止: {unsubscribe_url}"
        ),
    },
}


def forwards(apps, schema_editor):
    MessageTemplate = apps.get_model("touchpoints", "MessageTemplate")
    for slug, fields in TEMPLATES.items():
        MessageTemplate.objects.get_or_create(slug=slug, defaults={"channel": "email", **fields})


def backwards(apps, schema_editor):
    MessageTemplate = apps.get_model("touchpoints", "MessageTemplate")
    OutboundMessage = apps.get_model("touchpoints", "OutboundMessage")
    used = set(
        OutboundMessage.objects.filter(template__slug__in=list(TEMPLATES)).values_list("template__slug", flat=True)
    )
    MessageTemplate.objects.filter(slug__in=list(TEMPLATES)).exclude(slug__in=used).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("feedback", "0004_subject_trigram_index"),
        ("touchpoints", "0004_outreach"),
    ]
    operations = [migrations.RunPython(forwards, backwards)]
