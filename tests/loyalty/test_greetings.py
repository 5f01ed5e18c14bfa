"""Milestone greetings: birthdays (29 February too), anniversaries, tier upgrades, the Nth purchase and
points about to expire. One per customer, kind and occasion however often the jobs run, in the business
time zone, through the outbox (which checks consent), with their bonus through the ledger."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from loyalty import services, tasks
from loyalty.models import Greeting, LedgerEntry, Membership, Programme
from loyalty.services.ledger import _credit, _lock
from tests.factories import CustomerFactory, consenting_customer, member_join
from tests.loyalty.conftest import local, refreshed
from touchpoints.outreach.models import OutboundMessage

pytestmark = pytest.mark.django_db


@pytest.fixture
def bonus_club(club):
    club.birthday_bonus, club.anniversary_bonus, club.purchase_milestone_bonus = 200, 100, 50
    club.purchase_milestones = "1, 3"
    club.save()
    return club


def run_the_day(today: dt.date | None = None, times: int = 2) -> None:
    """The daily job and the dispatcher, as beat runs them (twice: every job must be safe to run again)."""
    for _ in range(times):
        tasks.milestones_schedule_task(today.isoformat() if today else None)
        tasks.greetings_dispatch_task(today.isoformat() if today else None)


def born(birth_date: dt.date, club, **kwargs) -> Membership:
    return member_join(consenting_customer(birth_date=birth_date, **kwargs), club)


def test_a_birthday_is_greeted_once_with_its_bonus_and_one_message(bonus_club):
    # given: a consenting member born on 14 July
    member = born(dt.date(1990, 7, 14), bonus_club)
    today = dt.date(2030, 7, 14)

    # when: the day's jobs run twice
    run_the_day(today)

    # then: one greeting, one bonus of 200 keyed by the occasion, one message queued in the outbox
    greeting = Greeting.objects.get(customer=member.customer)
    assert (greeting.kind, greeting.occasion, greeting.status, greeting.bonus_points) == (
        "birthday",
        "2030",
        "sent",
        200,
    )
    bonus = LedgerEntry.objects.get(membership=member, kind="bonus")
    assert bonus.points == 200 and "2030" in bonus.key
    message = OutboundMessage.objects.get(customer=member.customer)
    assert message.pk == greeting.message_id and message.status == "queued" and message.purpose == "marketing"
    assert "Happy birthday" in message.subject or "誕生日" in message.subject
    assert refreshed(member).balance == 200


def test_no_greeting_on_other_days_and_none_for_non_members(bonus_club):
    born(dt.date(1990, 7, 14), bonus_club)
    consenting_customer(birth_date=dt.date(1990, 7, 14))  # not a member
    run_the_day(dt.date(2030, 7, 13))
    run_the_day(dt.date(2030, 7, 15))
    assert not Greeting.objects.exists()
    run_the_day(dt.date(2030, 7, 14))
    assert Greeting.objects.count() == 1


def test_29_february_is_greeted_on_28_february_in_other_years_and_on_29_in_leap_years(bonus_club):
    member = born(dt.date(2000, 2, 29), bonus_club)
    february_28 = born(dt.date(2001, 2, 28), bonus_club)

    run_the_day(dt.date(2027, 2, 27))
    assert not Greeting.objects.exists()
    run_the_day(dt.date(2027, 2, 28))  # not a leap year: both on the 28th
    run_the_day(dt.date(2027, 3, 1))
    assert set(Greeting.objects.values_list("customer_id", "occasion")) == {
        (member.customer_id, "2027"),
        (february_28.customer_id, "2027"),
    }

    run_the_day(dt.date(2028, 2, 28))  # a leap year: the 28th is only for those born on the 28th
    assert Greeting.objects.filter(customer=member.customer, occasion="2028").count() == 0
    run_the_day(dt.date(2028, 2, 29))
    assert Greeting.objects.filter(customer=member.customer, occasion="2028").count() == 1
    assert Greeting.objects.filter(customer=february_28.customer, occasion="2028").count() == 1
    assert LedgerEntry.objects.filter(membership=member, kind="bonus").count() == 2


@pytest.mark.parametrize("zone", ["Asia/Tokyo", "America/New_York"])
def test_today_is_the_business_day_at_23_30_and_00_30_local(bonus_club, settings, monkeypatch, request, zone):
    # given: the business time zone, and a member born on 15 March
    settings.TIME_ZONE = zone
    timezone.activate(zone)
    request.addfinalizer(timezone.deactivate)
    member = born(dt.date(1985, 3, 15), bonus_club)

    def at(moment: dt.datetime) -> None:
        monkeypatch.setattr(timezone, "now", lambda: moment.astimezone(dt.UTC))
        run_the_day()  # no date given: the job works "today" out itself

    # when: the job runs at 23:30 local on the 14th, then at 00:30 local on the 15th
    at(local(2030, 3, 14, 23, 30))
    assert not Greeting.objects.exists()
    at(local(2030, 3, 15, 0, 30))
    at(local(2030, 3, 15, 23, 30))
    at(local(2030, 3, 16, 0, 30))

    # then: greeted once, on the 15th, and the message waits for the greeting hour of that day
    greeting = Greeting.objects.get(customer=member.customer)
    assert greeting.due_on == dt.date(2030, 3, 15)
    message = OutboundMessage.objects.get(pk=greeting.message_id)
    assert timezone.localtime(message.next_attempt_at).date() == dt.date(2030, 3, 15)
    assert timezone.localtime(message.next_attempt_at).hour >= settings.TSUNAGU_LOYALTY_GREETING_HOUR


def test_without_consent_the_bonus_is_given_but_no_mail_goes_out(bonus_club):
    member = member_join(CustomerFactory(birth_date=dt.date(1990, 7, 14), marketing_consent=False), bonus_club)
    run_the_day(dt.date(2030, 7, 14))
    greeting = Greeting.objects.get(customer=member.customer)
    assert greeting.status == "not_sent" and greeting.error == "no_consent"
    assert OutboundMessage.objects.get(pk=greeting.message_id).status == "skipped"
    assert refreshed(member).balance == 200
    # and the timeline says why, in the outbox's words
    from customers import timeline

    page = timeline.render_page(timeline.timeline_page(member.customer, kinds=["greeting"]))
    assert "Not sent: No marketing consent" in "".join(entry.html for entry in page.entries)


def test_a_customer_in_two_programmes_gets_one_birthday_greeting_and_each_bonus(bonus_club):
    member = born(dt.date(1990, 7, 14), bonus_club)
    online = Programme.objects.create(name="Online", birthday_bonus=50)
    second = member_join(member.customer, online)
    run_the_day(dt.date(2030, 7, 14))
    assert Greeting.objects.filter(customer=member.customer).count() == 1
    assert (refreshed(member).balance, refreshed(second).balance) == (200, 50)
    assert OutboundMessage.objects.filter(customer=member.customer).count() == 1


def test_membership_anniversaries_from_the_first_year_on(bonus_club):
    member = member_join(consenting_customer(), bonus_club, joined_at=local(2029, 6, 10))
    newcomer = member_join(consenting_customer(), bonus_club, joined_at=local(2030, 6, 10, 8))
    run_the_day(dt.date(2030, 6, 10))
    greeting = Greeting.objects.get(kind="anniversary")
    assert greeting.customer_id == member.customer_id and greeting.detail == "1"
    assert refreshed(member).balance == 100 and refreshed(newcomer).balance == 0


def test_the_nth_purchase_is_a_milestone(bonus_club, buy):
    member = member_join(consenting_customer(), bonus_club)
    for _ in range(3):
        buy(member.customer, "100")
    run_the_day()
    greetings = Greeting.objects.filter(kind="purchase").order_by("occasion")
    assert [g.detail for g in greetings] == ["1", "3"]
    assert refreshed(member).balance == 3 + 50 + 50


def test_a_tier_upgrade_greeting_goes_out_once(bonus_club, buy):
    member = member_join(consenting_customer(), bonus_club)
    buy(member.customer, "100000")
    run_the_day()
    greeting = Greeting.objects.get(kind="tier_upgrade")
    assert greeting.status == "sent" and greeting.detail == "Silver"
    assert OutboundMessage.objects.filter(key=f"loyalty:greeting:{greeting.pk}").count() == 1
    # the first purchase was a milestone too: two greetings, two messages, however often the jobs ran
    assert OutboundMessage.objects.filter(customer=member.customer, key__startswith="loyalty:").count() == 2


def test_points_about_to_expire_are_reminded_once_per_expiry_day(bonus_club):
    # given: a lot earned 11 months ago, valid for 12 months (so expiring in about 30 days)
    member = member_join(consenting_customer(), bonus_club)
    today = services.local_today()
    earned_on = services.add_months(today, -12) + dt.timedelta(days=30)
    with transaction.atomic():
        locked = _lock(member.pk)
        _credit(locked, kind="earn", points=80, reason="old", key="old", source="job", today=earned_on)

    # when: the nightly job runs on three nights, and the dispatcher each time
    for night in range(3):
        tasks.points_expire_task((today + dt.timedelta(days=night)).isoformat())
        tasks.greetings_dispatch_task((today + dt.timedelta(days=night)).isoformat())

    # then: one reminder, transactional, for 80 points
    greeting = Greeting.objects.get(kind="points_expiring")
    message = OutboundMessage.objects.get(pk=greeting.message_id)
    assert message.purpose == "transactional" and "80" in message.subject


def test_the_database_keeps_one_greeting_per_customer_kind_and_occasion(bonus_club):
    member = born(dt.date(1990, 7, 14), bonus_club)
    Greeting.objects.create(
        customer=member.customer, membership=member, kind="birthday", occasion="2030", due_on=dt.date(2030, 7, 14)
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Greeting.objects.create(
            customer=member.customer, membership=member, kind="birthday", occasion="2030", due_on=dt.date(2030, 7, 14)
        )


def test_todays_birthdays_are_found_through_the_index(bonus_club):
    """The customers with today's birthday come from the month/day expression index alone (planner costs
    forced, as the test table is tiny; at a million customers the planner picks it by itself: make bench)."""
    from django.db import connection

    from customers.models import Customer

    born(dt.date(1990, 7, 14), bonus_club)
    query = (
        Customer.objects.filter(birth_date__month=7, birth_date__day__in=[14]).order_by().values_list("pk", flat=True)
    )
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        plan = query.explain()
    assert "using loyalty_customer_birthday_idx" in plan
    assert list(query) == list(Customer.objects.filter(birth_date=dt.date(1990, 7, 14)).values_list("pk", flat=True))
