"""manage.py seed_demo: deterministic demo customers, the demo staff and their roles."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.urls import reverse

from customers.models import Customer, Note
from customers.seeding import tables as seed_tables

User = get_user_model()
TODAY = "--today=2026-06-01"
FIELDS = [f.attname for f in Customer._meta.concrete_fields if f.attname not in {"id", "owner_id"}]


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", "--demo-logins", *args, stdout=out)
    return out.getvalue()


def snapshot(fields: list[str] = FIELDS) -> list[tuple]:
    """Every customer as a user sees it (ids aside), with owner, tags and notes, in a stable order."""
    customers = Customer.objects.select_related("owner").prefetch_related("tags", "notes").order_by("email", "pk")
    return [
        (
            *(getattr(c, f) for f in fields),
            c.owner.username if c.owner else None,
            sorted(t.name for t in c.tags.all()),
            sorted((n.body, n.created_at) for n in c.notes.all()),
        )
        for c in customers
    ]


@pytest.mark.django_db
def test_seed_demo_with_the_same_seed_gives_the_same_customers():
    # given a database seeded with 200 customers
    seed("--customers=200", "--seed=7", TODAY)
    first = snapshot()

    # when it is emptied and seeded again with the same seed and date
    Customer.objects.all().delete()
    seed("--customers=200", "--seed=7", TODAY)

    # then every customer is the same, to the second, tags and notes included
    assert len(first) == 200
    assert snapshot() == first
    # and another seed gives other customers
    Customer.objects.all().delete()
    seed("--customers=200", "--seed=8", TODAY)
    assert snapshot() != first


@pytest.mark.django_db
def test_seed_demo_bulk_create_path_writes_what_copy_writes(monkeypatch):
    # given the data COPY writes on PostgreSQL
    seed("--customers=50", "--seed=3", TODAY)
    fields = [f for f in FIELDS if f != "updated_at"]  # bulk_create stamps auto_now fields with the time of writing
    copied = snapshot(fields)
    Customer.objects.all().delete()

    # when the same seed goes through bulk_create, as on SQLite
    init = seed_tables.TableWriter.__init__
    monkeypatch.setattr(seed_tables.TableWriter, "__init__", lambda self, using: init(self, using, copy=False))
    seed("--customers=50", "--seed=3", TODAY)

    # then the rows are the same
    assert snapshot(fields) == copied


@pytest.mark.django_db
def test_seeded_customers_are_realistic():
    seed("--customers=300", "--seed=42", TODAY)
    customers = list(Customer.objects.all())
    now = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)

    english = [c for c in customers if c.preferred_language == "en"]
    japanese = [c for c in customers if c.preferred_language == "ja"]
    assert 0.12 < len(english) / len(customers) < 0.28
    assert all(c.family_name_kana and c.given_name_kana for c in japanese)
    assert not any(c.family_name_kana or c.given_name_kana for c in english)
    emails = [c.email for c in customers if c.email]
    assert len(set(emails)) == len(emails) and all(e == e.lower() for e in emails)
    assert all(c.phone.startswith(("+8190", "+8180")) for c in japanese if c.phone)
    consenting = [c for c in customers if c.marketing_consent]
    assert 0.5 < len(consenting) / len(customers) < 0.7
    assert all(c.email and c.consent_at and c.consent_source and c.consent_evidence for c in consenting)
    assert not any(c.marketing_consent for c in customers if c.do_not_contact)
    assert 0.6 < sum(c.birth_date is not None for c in customers) / len(customers) < 0.8
    assert any(c.birth_date and (c.birth_date.month, c.birth_date.day) == (2, 29) for c in customers)
    assert all(now - dt.timedelta(days=3 * 365 + 2) <= c.created_at <= c.last_activity_at <= now for c in customers)
    assert all(c.name_sort and c.search_text for c in customers)
    assert Customer.tags.through.objects.count() > 0 and Note.objects.exists()
    assert all(len(c.tags.all()) <= 3 for c in Customer.objects.prefetch_related("tags"))


@pytest.mark.django_db
def test_seed_demo_refuses_to_add_customers_twice_unless_appending():
    # given a seeded database
    seed("--customers=20", TODAY)

    # when it is seeded again
    out = seed("--customers=20", TODAY)

    # then nothing is added, and the command says why and what to do
    assert Customer.objects.count() == 20
    assert "already has 20 customers" in out and "--append" in out

    # and with --append the new customers join them, with addresses of their own
    seed("--customers=20", "--append", TODAY)
    assert Customer.objects.count() == 40
    emails = [e for e in Customer.objects.values_list("email", flat=True) if e]
    assert len(set(emails)) == len(emails)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("username", "role", "allowed", "denied"),
    [
        ("manager", "Manager", "customers.export_customer", None),
        ("support", "Support", "customers.merge_customer", "customers.import_customer"),
        ("marketing", "Marketing", "customers.import_customer", "customers.export_customer"),
    ],
)
def test_demo_staff_log_in_with_their_roles(client, username, role, allowed, denied):
    # given the demo staff, seeded twice (the second run must change nothing)
    seed("--staff-only")
    out = seed("--staff-only")
    assert "already existed" in out

    # when one of them logs in with the printed password
    assert client.post(reverse("login"), {"username": username, "password": "tsunagu-demo"}).status_code == 302

    # then they are staff in their role's group, and can do what the role allows
    user = User.objects.get(username=username)
    assert user.is_staff and not user.is_superuser
    assert list(user.groups.values_list("name", flat=True)) == [role]
    assert user.has_perm(allowed)
    assert denied is None or not user.has_perm(denied)
    assert client.get(reverse("customers:list")).status_code == 200


@pytest.mark.django_db
def test_demo_admin_is_a_superuser(client):
    seed("--staff-only")
    assert client.post(reverse("login"), {"username": "admin", "password": "tsunagu-demo"}).status_code == 302
    assert User.objects.get(username="admin").is_superuser
    assert client.get("/admin/").status_code == 200


@pytest.mark.django_db
def test_search_finds_a_seeded_customer_by_kana(client):
    # given seeded customers, and one of the Japanese ones
    seed("--customers=200", "--seed=5", TODAY)
    customer = Customer.objects.filter(preferred_language="ja").order_by("pk")[7]

    # when staff search for the name's reading in katakana, as it is typed (family name first)
    client.force_login(User.objects.get(username="manager"))
    kana = f"{customer.family_name_kana} {customer.given_name_kana}"
    response = client.get(reverse("customers:list"), {"q": kana})

    # then the customer is found
    assert response.status_code == 200
    assert customer in response.context["page"].rows
    assert customer in Customer.objects.search(f"{customer.family_name_kana}{customer.given_name_kana}")


@pytest.mark.django_db
def test_demo_logins_are_refused_on_a_database_that_is_not_a_demo(settings):
    # given: DEBUG off (production) and no explicit --demo-logins
    settings.DEBUG = False

    # when / then: the command refuses, and no login with the public password exists
    with pytest.raises(CommandError, match="public password"):
        call_command("seed_demo", "--staff-only", stdout=StringIO())
    assert not User.objects.filter(username__in=["admin", "manager"]).exists()
