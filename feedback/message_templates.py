"""The outreach message templates feedback sends, as seeded by migration 0004 (staff edit them after).

When a template is missing (deleted in the admin), feedback still sends the text here, in the customer's
language, so a customer is never left without their reference or survey link. Placeholders are filled by
the outbox (touchpoints/outreach/placeholders.py): ``{customer_name}``, ``{shop_name}``, ``{unsubscribe_url}``, and the
values feedback passes (``{ticket_reference}``, ``{survey_url}``, ``{nps_survey_url}``).

The confirmation of a message received quotes nothing the sender typed, not even their name: anyone can
submit the public form with anyone's address, and our mail must not carry a stranger's words.
"""

from __future__ import annotations

TEMPLATES: dict[str, dict[str, str]] = {
    "feedback-received": {
        "name": "Feedback: message received",
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
        "name": "Feedback: CSAT survey after a resolved ticket",
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
        "name": "Feedback: NPS survey",
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


def fallback_text(slug: str, language: str) -> tuple[str, str]:
    """(subject, body) of the built-in version of template ``slug`` in ``language`` (ja or en)."""
    template = TEMPLATES[slug]
    code = language if language in ("ja", "en") else "ja"
    return template[f"subject_{code}"], template[f"body_{code}"]
