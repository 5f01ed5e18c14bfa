"""The message templates of loyalty's greetings, in the outreach catalogue (staff may edit them there).

Created only when missing (a template edited by staff is left alone); the slugs are the ones
``loyalty.services.GREETING_TEMPLATES`` sends. Placeholders: the outbox's own ({customer_name},
{shop_name}, {unsubscribe_url}), loyalty's ({points_balance}, {tier}) and the greeting's context
({programme}, {bonus_points}, {years}, {new_tier}, {purchase_number}, {expiring_points}, {expires_on}).
"""

from django.db import migrations
from django.utils.translation import gettext_noop

UNSUBSCRIBE_JA = "\n\n配信停止: {unsubscribe_url}"
UNSUBSCRIBE_EN = "\n\nUnsubscribe: {unsubscribe_url}"

TEMPLATES = [
    {
        "slug": "loyalty-birthday",
        "name": gettext_noop("Loyalty: birthday greeting"),
        "purpose": "marketing",
        "subject_ja": "{customer_name}様、お誕生日おめでとうございます",
        "body_ja": "{customer_name}様\n\nお誕生日おめでとうございます。{shop_name}より心ばかりの贈り物として"
        "{bonus_points}ポイントをお贈りしました。\n現在のポイント残高: {points_balance}ポイント" + UNSUBSCRIBE_JA,
        "subject_en": "Happy birthday, {customer_name}",
        "body_en": "Dear {customer_name},\n\nHappy birthday from all of us at {shop_name}! We added "
        "{bonus_points} points to your {programme} account as a small gift.\nYour balance: {points_balance} points"
        + UNSUBSCRIBE_EN,
    },
    {
        "slug": "loyalty-anniversary",
        "name": gettext_noop("Loyalty: membership anniversary"),
        "purpose": "marketing",
        "subject_ja": "ご入会{years}周年ありがとうございます",
        "body_ja": "{customer_name}様\n\n{programme}にご入会いただいて{years}年になりました。感謝の気持ちとして"
        "{bonus_points}ポイントをお贈りしました。\n現在のポイント残高: {points_balance}ポイント" + UNSUBSCRIBE_JA,
        "subject_en": "{years} years with {shop_name}: thank you",
        "body_en": "Dear {customer_name},\n\nYou joined {programme} {years} year(s) ago today. To say thank you we "
        "added {bonus_points} points to your account.\nYour balance: {points_balance} points" + UNSUBSCRIBE_EN,
    },
    {
        "slug": "loyalty-tier-upgrade",
        "name": gettext_noop("Loyalty: tier upgrade"),
        "purpose": "marketing",
        "subject_ja": "{new_tier}会員へのランクアップおめでとうございます",
        "body_ja": "{customer_name}様\n\n{programme}で{new_tier}会員にランクアップされました。"
        "いつもご愛顧いただきありがとうございます。" + UNSUBSCRIBE_JA,
        "subject_en": "Welcome to {new_tier}, {customer_name}",
        "body_en": "Dear {customer_name},\n\nYou are now a {new_tier} member of {programme}. Thank you for "
        "shopping with {shop_name}." + UNSUBSCRIBE_EN,
    },
    {
        "slug": "loyalty-purchase-milestone",
        "name": gettext_noop("Loyalty: purchase milestone"),
        "purpose": "marketing",
        "subject_ja": "{purchase_number}回目のお買い物ありがとうございます",
        "body_ja": "{customer_name}様\n\n{shop_name}での{purchase_number}回目のお買い物、誠にありがとうございます。"
        "記念に{bonus_points}ポイントをお贈りしました。" + UNSUBSCRIBE_JA,
        "subject_en": "Thank you for purchase number {purchase_number}",
        "body_en": "Dear {customer_name},\n\nThank you for your purchase number {purchase_number} at {shop_name}. "
        "We added {bonus_points} points to your account to celebrate." + UNSUBSCRIBE_EN,
    },
    {
        "slug": "loyalty-points-expiring",
        "name": gettext_noop("Loyalty: points expiring soon"),
        "purpose": "transactional",
        "subject_ja": "{expiring_points}ポイントの有効期限が近づいています",
        "body_ja": "{customer_name}様\n\n{programme}の{expiring_points}ポイントが{expires_on}に失効します。"
        "お早めにご利用ください。\n現在のポイント残高: {points_balance}ポイント",
        "subject_en": "{expiring_points} points expire on {expires_on}",
        "body_en": "Dear {customer_name},\n\n{expiring_points} of your {programme} points expire on {expires_on}. "
        "Use them before then!\nYour balance: {points_balance} points",
    },
]


def forwards(apps, schema_editor):
    MessageTemplate = apps.get_model("touchpoints", "MessageTemplate")
    for data in TEMPLATES:
        MessageTemplate.objects.get_or_create(slug=data["slug"], defaults={**data, "channel": "email"})


def backwards(apps, schema_editor):
    MessageTemplate = apps.get_model("touchpoints", "MessageTemplate")
    MessageTemplate.objects.filter(slug__in=[t["slug"] for t in TEMPLATES]).delete()


class Migration(migrations.Migration):
    dependencies = [("loyalty", "0004_loyalty_permissions"), ("touchpoints", "0004_outreach")]
    operations = [migrations.RunPython(forwards, backwards)]
