"""Seed the SLA policies (one per priority, and one for follow-up tickets), the working week (Monday to Friday,
09:00–18:00 in the business time zone) and Japan's public holidays 2024–2030. Staff edit all of it in the
admin; ``manage.py holidays_add_japanese <year>`` adds later years.

The holidays are written out here (produced by feedback/holidays.py) so that this migration never changes.
"""

import datetime as dt

from django.db import migrations
from django.utils.translation import gettext_noop

# name, priority, follow-up, first response (min), resolution (min), business hours, warn before (min)
POLICIES = [
    ("Urgent", "urgent", False, 60, 8 * 60, False, 30),
    ("High", "high", False, 4 * 60, 2 * 9 * 60, True, 60),
    ("Normal", "normal", False, 9 * 60, 5 * 9 * 60, True, 120),
    ("Low", "low", False, 2 * 9 * 60, 10 * 9 * 60, True, 240),
    (gettext_noop("Follow-up (closing the loop)"), "", True, 4 * 60, 2 * 9 * 60, True, 60),
]
WORKING_WEEK = [(weekday, dt.time(9), dt.time(18)) for weekday in range(5)]
HOLIDAYS = [
    ("2024-01-01", "元日 (New Year's Day)"),
    ("2024-01-08", "成人の日 (Coming of Age Day)"),
    ("2024-02-11", "建国記念の日 (National Foundation Day)"),
    ("2024-02-12", "振替休日 (Substitute Holiday)"),
    ("2024-02-23", "天皇誕生日 (Emperor's Birthday)"),
    ("2024-03-20", "春分の日 (Vernal Equinox Day)"),
    ("2024-04-29", "昭和の日 (Showa Day)"),
    ("2024-05-03", "憲法記念日 (Constitution Memorial Day)"),
    ("2024-05-04", "みどりの日 (Greenery Day)"),
    ("2024-05-05", "こどもの日 (Children's Day)"),
    ("2024-05-06", "振替休日 (Substitute Holiday)"),
    ("2024-07-15", "海の日 (Marine Day)"),
    ("2024-08-11", "山の日 (Mountain Day)"),
    ("2024-08-12", "振替休日 (Substitute Holiday)"),
    ("2024-09-16", "敬老の日 (Respect for the Aged Day)"),
    ("2024-09-22", "秋分の日 (Autumnal Equinox Day)"),
    ("2024-09-23", "振替休日 (Substitute Holiday)"),
    ("2024-10-14", "スポーツの日 (Sports Day)"),
    ("2024-11-03", "文化の日 (Culture Day)"),
    ("2024-11-04", "振替休日 (Substitute Holiday)"),
    ("2024-11-23", "勤労感謝の日 (Labour Thanksgiving Day)"),
    ("2025-01-01", "元日 (New Year's Day)"),
    ("2025-01-13", "成人の日 (Coming of Age Day)"),
    ("2025-02-11", "建国記念の日 (National Foundation Day)"),
    ("2025-02-23", "天皇誕生日 (Emperor's Birthday)"),
    ("2025-02-24", "振替休日 (Substitute Holiday)"),
    ("2025-03-20", "春分の日 (Vernal Equinox Day)"),
    ("2025-04-29", "昭和の日 (Showa Day)"),
    ("2025-05-03", "憲法記念日 (Constitution Memorial Day)"),
    ("2025-05-04", "みどりの日 (Greenery Day)"),
    ("2025-05-05", "こどもの日 (Children's Day)"),
    ("2025-05-06", "振替休日 (Substitute Holiday)"),
    ("2025-07-21", "海の日 (Marine Day)"),
    ("2025-08-11", "山の日 (Mountain Day)"),
    ("2025-09-15", "敬老の日 (Respect for the Aged Day)"),
    ("2025-09-23", "秋分の日 (Autumnal Equinox Day)"),
    ("2025-10-13", "スポーツの日 (Sports Day)"),
    ("2025-11-03", "文化の日 (Culture Day)"),
    ("2025-11-23", "勤労感謝の日 (Labour Thanksgiving Day)"),
    ("2025-11-24", "振替休日 (Substitute Holiday)"),
    ("2026-01-01", "元日 (New Year's Day)"),
    ("2026-01-12", "成人の日 (Coming of Age Day)"),
    ("2026-02-11", "建国記念の日 (National Foundation Day)"),
    ("2026-02-23", "天皇誕生日 (Emperor's Birthday)"),
    ("2026-03-20", "春分の日 (Vernal Equinox Day)"),
    ("2026-04-29", "昭和の日 (Showa Day)"),
    ("2026-05-03", "憲法記念日 (Constitution Memorial Day)"),
    ("2026-05-04", "みどりの日 (Greenery Day)"),
    ("2026-05-05", "こどもの日 (Children's Day)"),
    ("2026-05-06", "振替休日 (Substitute Holiday)"),
    ("2026-07-20", "海の日 (Marine Day)"),
    ("2026-08-11", "山の日 (Mountain Day)"),
    ("2026-09-21", "敬老の日 (Respect for the Aged Day)"),
    ("2026-09-22", "国民の休日 (Citizens' Holiday)"),
    ("2026-09-23", "秋分の日 (Autumnal Equinox Day)"),
    ("2026-10-12", "スポーツの日 (Sports Day)"),
    ("2026-11-03", "文化の日 (Culture Day)"),
    ("2026-11-23", "勤労感謝の日 (Labour Thanksgiving Day)"),
    ("2027-01-01", "元日 (New Year's Day)"),
    ("2027-01-11", "成人の日 (Coming of Age Day)"),
    ("2027-02-11", "建国記念の日 (National Foundation Day)"),
    ("2027-02-23", "天皇誕生日 (Emperor's Birthday)"),
    ("2027-03-21", "春分の日 (Vernal Equinox Day)"),
    ("2027-03-22", "振替休日 (Substitute Holiday)"),
    ("2027-04-29", "昭和の日 (Showa Day)"),
    ("2027-05-03", "憲法記念日 (Constitution Memorial Day)"),
    ("2027-05-04", "みどりの日 (Greenery Day)"),
    ("2027-05-05", "こどもの日 (Children's Day)"),
    ("2027-07-19", "海の日 (Marine Day)"),
    ("2027-08-11", "山の日 (Mountain Day)"),
    ("2027-09-20", "敬老の日 (Respect for the Aged Day)"),
    ("2027-09-23", "秋分の日 (Autumnal Equinox Day)"),
    ("2027-10-11", "スポーツの日 (Sports Day)"),
    ("2027-11-03", "文化の日 (Culture Day)"),
    ("2027-11-23", "勤労感謝の日 (Labour Thanksgiving Day)"),
    ("2028-01-01", "元日 (New Year's Day)"),
    ("2028-01-10", "成人の日 (Coming of Age Day)"),
    ("2028-02-11", "建国記念の日 (National Foundation Day)"),
    ("2028-02-23", "天皇誕生日 (Emperor's Birthday)"),
    ("2028-03-20", "春分の日 (Vernal Equinox Day)"),
    ("2028-04-29", "昭和の日 (Showa Day)"),
    ("2028-05-03", "憲法記念日 (Constitution Memorial Day)"),
    ("2028-05-04", "みどりの日 (Greenery Day)"),
    ("2028-05-05", "こどもの日 (Children's Day)"),
    ("2028-07-17", "海の日 (Marine Day)"),
    ("2028-08-11", "山の日 (Mountain Day)"),
    ("2028-09-18", "敬老の日 (Respect for the Aged Day)"),
    ("2028-09-22", "秋分の日 (Autumnal Equinox Day)"),
    ("2028-10-09", "スポーツの日 (Sports Day)"),
    ("2028-11-03", "文化の日 (Culture Day)"),
    ("2028-11-23", "勤労感謝の日 (Labour Thanksgiving Day)"),
    ("2029-01-01", "元日 (New Year's Day)"),
    ("2029-01-08", "成人の日 (Coming of Age Day)"),
    ("2029-02-11", "建国記念の日 (National Foundation Day)"),
    ("2029-02-12", "振替休日 (Substitute Holiday)"),
    ("2029-02-23", "天皇誕生日 (Emperor's Birthday)"),
    ("2029-03-20", "春分の日 (Vernal Equinox Day)"),
    ("2029-04-29", "昭和の日 (Showa Day)"),
    ("2029-04-30", "振替休日 (Substitute Holiday)"),
    ("2029-05-03", "憲法記念日 (Constitution Memorial Day)"),
    ("2029-05-04", "みどりの日 (Greenery Day)"),
    ("2029-05-05", "こどもの日 (Children's Day)"),
    ("2029-07-16", "海の日 (Marine Day)"),
    ("2029-08-11", "山の日 (Mountain Day)"),
    ("2029-09-17", "敬老の日 (Respect for the Aged Day)"),
    ("2029-09-23", "秋分の日 (Autumnal Equinox Day)"),
    ("2029-09-24", "振替休日 (Substitute Holiday)"),
    ("2029-10-08", "スポーツの日 (Sports Day)"),
    ("2029-11-03", "文化の日 (Culture Day)"),
    ("2029-11-23", "勤労感謝の日 (Labour Thanksgiving Day)"),
    ("2030-01-01", "元日 (New Year's Day)"),
    ("2030-01-14", "成人の日 (Coming of Age Day)"),
    ("2030-02-11", "建国記念の日 (National Foundation Day)"),
    ("2030-02-23", "天皇誕生日 (Emperor's Birthday)"),
    ("2030-03-20", "春分の日 (Vernal Equinox Day)"),
    ("2030-04-29", "昭和の日 (Showa Day)"),
    ("2030-05-03", "憲法記念日 (Constitution Memorial Day)"),
    ("2030-05-04", "みどりの日 (Greenery Day)"),
    ("2030-05-05", "こどもの日 (Children's Day)"),
    ("2030-05-06", "振替休日 (Substitute Holiday)"),
    ("2030-07-15", "海の日 (Marine Day)"),
    ("2030-08-11", "山の日 (Mountain Day)"),
    ("2030-08-12", "振替休日 (Substitute Holiday)"),
    ("2030-09-16", "敬老の日 (Respect for the Aged Day)"),
    ("2030-09-23", "秋分の日 (Autumnal Equinox Day)"),
    ("2030-10-14", "スポーツの日 (Sports Day)"),
    ("2030-11-03", "文化の日 (Culture Day)"),
    ("2030-11-04", "振替休日 (Substitute Holiday)"),
    ("2030-11-23", "勤労感謝の日 (Labour Thanksgiving Day)"),
]


def forwards(apps, schema_editor):
    SlaPolicy = apps.get_model("feedback", "SlaPolicy")
    BusinessHours = apps.get_model("feedback", "BusinessHours")
    Holiday = apps.get_model("feedback", "Holiday")
    for name, priority, follow_up, first, resolution, business, warn in POLICIES:
        lookup = {"is_follow_up": True} if follow_up else {"priority": priority, "is_follow_up": False}
        SlaPolicy.objects.get_or_create(
            **lookup,
            defaults={
                "name": name,
                "priority": priority,
                "first_response_minutes": first,
                "resolution_minutes": resolution,
                "business_hours": business,
                "warn_before_minutes": warn,
            },
        )
    for weekday, opens, closes in WORKING_WEEK:
        BusinessHours.objects.get_or_create(weekday=weekday, opens_at=opens, defaults={"closes_at": closes})
    for day, name in HOLIDAYS:
        Holiday.objects.get_or_create(date=dt.date.fromisoformat(day), defaults={"name": name})


def backwards(apps, schema_editor):
    apps.get_model("feedback", "Holiday").objects.filter(date__in=[d for d, _n in HOLIDAYS]).delete()
    apps.get_model("feedback", "BusinessHours").objects.all().delete()
    Ticket = apps.get_model("feedback", "Ticket")
    used = set(Ticket.objects.exclude(sla_policy=None).values_list("sla_policy", flat=True).distinct())
    apps.get_model("feedback", "SlaPolicy").objects.exclude(pk__in=used).delete()


class Migration(migrations.Migration):
    dependencies = [("feedback", "0001_tickets_surveys_sla")]
    operations = [migrations.RunPython(forwards, backwards)]
