"""Seed the catalogue with the fifteen classic touchpoints (and a return, for refunds). Marketing edits it after.

Names are English message ids (gettext_noop), translated when shown; a renamed type shows as typed.
Slugs are stable: the API and importers refer to them.
"""

from django.db import migrations
from django.utils.translation import gettext_noop

# slug, name, stage, kind, description
TYPES = [
    (
        "brand-exposure",
        gettext_noop("Brand exposure"),
        "awareness",
        "interaction",
        gettext_noop("Ads, influencers, search results"),
    ),
    ("reputation", gettext_noop("Reputation"), "awareness", "interaction", gettext_noop("Reviews, word of mouth")),
    ("pr", gettext_noop("PR"), "awareness", "interaction", gettext_noop("Press and media coverage")),
    (
        "research",
        gettext_noop("Customer research"),
        "consideration",
        "interaction",
        gettext_noop("Site visit, content read"),
    ),
    (
        "product-selection",
        gettext_noop("Product selection"),
        "consideration",
        "interaction",
        gettext_noop("Browsing, catalogue, demo"),
    ),
    (
        "social-proof",
        gettext_noop("Social proof"),
        "consideration",
        "interaction",
        gettext_noop("Testimonials, case studies"),
    ),
    ("price-value", gettext_noop("Price and value"), "decision", "interaction", gettext_noop("Quote, plan choice")),
    ("transaction", gettext_noop("Transaction"), "decision", "purchase", gettext_noop("Purchase, checkout")),
    ("support", gettext_noop("Customer support"), "decision", "interaction", gettext_noop("Pre-sale question")),
    (
        "feedback-request",
        gettext_noop("Feedback request"),
        "retention",
        "interaction",
        gettext_noop("Asked for a review or an opinion"),
    ),
    (
        "cross-sell",
        gettext_noop("Cross-sell / upsell offer"),
        "retention",
        "interaction",
        gettext_noop("Offer of a related or better product"),
    ),
    (
        "social-engagement",
        gettext_noop("Social media engagement"),
        "retention",
        "interaction",
        gettext_noop("Comment, share, mention"),
    ),
    (
        "loyalty-activity",
        gettext_noop("Loyalty programme activity"),
        "retention",
        "interaction",
        gettext_noop("Points earned or redeemed"),
    ),
    ("survey", gettext_noop("Customer survey"), "retention", "interaction", gettext_noop("NPS or satisfaction survey")),
    (
        "follow-up-email",
        gettext_noop("Follow-up email"),
        "retention",
        "interaction",
        gettext_noop("After a purchase or a visit"),
    ),
    ("return", gettext_noop("Return"), "decision", "return", gettext_noop("Goods returned, order refunded")),
]


def forwards(apps, schema_editor):
    TouchpointType = apps.get_model("touchpoints", "TouchpointType")
    for position, (slug, name, stage, kind, description) in enumerate(TYPES, start=1):
        TouchpointType.objects.get_or_create(
            slug=slug,
            defaults={
                "name": name,
                "stage": stage,
                "kind": kind,
                "description": description,
                "position": position * 10,
            },
        )


def backwards(apps, schema_editor):
    TouchpointType = apps.get_model("touchpoints", "TouchpointType")
    Touchpoint = apps.get_model("touchpoints", "Touchpoint")
    used = set(Touchpoint.objects.values_list("type__slug", flat=True).distinct())
    TouchpointType.objects.filter(slug__in=[t[0] for t in TYPES]).exclude(slug__in=used).delete()


class Migration(migrations.Migration):
    dependencies = [("touchpoints", "0001_journey")]
    operations = [migrations.RunPython(forwards, backwards)]
