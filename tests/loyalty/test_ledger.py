"""The points ledger: earning, spending oldest first, expiry per lot, idempotency, append-only, the audit."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, connection, transaction

from loyalty import services
from loyalty.models import LedgerEntry, Membership, Programme, Redemption
from loyalty.services.ledger import _credit, _lock
from tests.factories import CustomerFactory, RewardFactory, member_join
from tests.loyalty.conftest import refreshed

pytestmark = pytest.mark.django_db


def ledger_sum(membership: Membership) -> int:
    return sum(LedgerEntry.objects.filter(membership=membership).values_list("points", flat=True))


def test_a_purchase_earns_amount_times_rate_times_tier_multiplier(member, buy):
    # given: a Regular member (×1) of a programme earning 1 point per 100 JPY
    # when: they buy for 12,345 JPY
    buy(member.customer, "12345", "A-1")

    # then: 123 points (rounded down), one earn entry that is a lot valid 12 months
    member = refreshed(member)
    entry = LedgerEntry.objects.get(membership=member)
    assert (member.balance, member.lifetime_points, member.purchase_count) == (123, 123, 1)
    assert (entry.kind, entry.points, entry.remaining, entry.order_reference) == ("earn", 123, 123, "A-1")
    assert entry.expires_on == services.add_months(services.local_today(), 12)


def test_silver_members_earn_one_and_a_half_times(member, buy):
    member.tier = member.programme.tiers.get(name="Silver")
    member.save(update_fields=["tier"])
    buy(member.customer, "1000")
    assert refreshed(member).balance == 15


def test_a_purchase_in_another_currency_earns_nothing(member, buy):
    buy(member.customer, "100", currency="USD")
    assert refreshed(member).balance == 0


def test_a_purchase_earns_in_every_active_membership_but_not_in_paused_ones(member, buy):
    other = member_join(member.customer, Programme.objects.create(name="Online", earn_rate="0.05"))
    paused = member_join(member.customer, Programme.objects.create(name="Paused one"))
    services.membership_set_status(membership=paused, status=Membership.Status.PAUSED)

    buy(member.customer, "1000")

    assert (refreshed(member).balance, refreshed(other).balance, refreshed(paused).balance) == (10, 50, 0)


def test_the_same_touchpoint_earns_once(member, buy):
    touchpoint = buy(member.customer, "5000", idempotency_key="shop-order-9")
    # a replayed event (a retried receiver) and a replayed request (same key) earn nothing more
    services.points_earn_for_purchase(touchpoint=touchpoint)
    buy(member.customer, "5000", idempotency_key="shop-order-9")
    assert refreshed(member).balance == 50
    assert LedgerEntry.objects.filter(membership=member).count() == 1


def test_a_return_reverses_the_points_of_its_order(member, buy, give_back):
    buy(member.customer, "10000", "ORDER-7")
    give_back(member.customer, "ORDER-7")
    member = refreshed(member)
    assert member.balance == 0
    reverse = LedgerEntry.objects.get(membership=member, kind="reverse")
    assert reverse.points == -100 and reverse.amount == -10000
    assert services.ledger_audit() == []


def test_a_partial_return_reverses_its_share_and_a_second_one_the_rest(member, buy, give_back):
    buy(member.customer, "10000", "ORDER-8")
    give_back(member.customer, "ORDER-8", amount="2500")
    assert refreshed(member).balance == 75
    give_back(member.customer, "ORDER-8", amount="7500")
    assert refreshed(member).balance == 0
    give_back(member.customer, "ORDER-8", amount="100")  # nothing left to return
    assert refreshed(member).balance == 0
    assert services.ledger_audit() == []


def test_a_return_never_takes_the_balance_below_zero(member, buy, give_back):
    # given: 100 points earned and 80 already spent
    buy(member.customer, "10000", "ORDER-9")
    reward = RewardFactory(programme=member.programme, points_cost=80)
    services.points_redeem(membership=member, reward=reward, key="k1")

    # when: the order is returned
    give_back(member.customer, "ORDER-9")

    # then: the 20 left are taken back, and the entry says why not more
    member = refreshed(member)
    assert member.balance == 0
    reverse = LedgerEntry.objects.get(membership=member, kind="reverse")
    assert reverse.points == -20 and "80" in reverse.reason


def lot(member: Membership, points: int, *, earned_on: dt.date, months: int | None = 12) -> LedgerEntry:
    """A lot of ``points`` earned on ``earned_on``, valid ``months`` (None: for ever), as the services write it."""
    with transaction.atomic():
        locked = _lock(member.pk)
        locked.programme.points_lifetime_months = months
        return _credit(
            locked,
            kind="earn",
            points=points,
            reason="test lot",
            key=f"lot:{earned_on}:{months}",
            source="job",
            today=earned_on,
        )


def test_redeeming_spends_the_lots_that_expire_first_first(member):
    # given: three lots, valid until March 2031, January 2031 and for ever, made in that order
    march = lot(member, 100, earned_on=dt.date(2030, 3, 1))
    january = lot(member, 100, earned_on=dt.date(2030, 1, 1))
    forever = lot(member, 100, earned_on=dt.date(2030, 2, 1), months=None)

    # when: 150 points are redeemed
    redemption = services.points_redeem(
        membership=member, reward=RewardFactory(programme=member.programme, points_cost=150), key="r"
    )

    # then: January's lot is used up, March's half, and the one that never expires is untouched
    remaining = dict(
        LedgerEntry.objects.filter(pk__in=[march.pk, january.pk, forever.pk]).values_list("pk", "remaining")
    )
    assert remaining == {january.pk: 0, march.pk: 50, forever.pk: 100}
    spend = LedgerEntry.objects.get(redemption=redemption, kind="redeem")
    assert spend.allocations == {str(january.pk): 100, str(march.pk): 50}


def test_expiry_takes_only_what_is_left_of_each_lot_once(member):
    # given: two lots earned 13 months ago, one of them half spent, and a fresh one
    today = services.local_today()
    old_day = today - dt.timedelta(days=400)
    old_a = lot(member, 100, earned_on=old_day)
    old_b = lot(member, 60, earned_on=old_day - dt.timedelta(days=1))
    services.points_adjust(membership=member, points=40, reason="fresh", key="fresh")
    services.points_redeem(membership=member, reward=RewardFactory(programme=member.programme, points_cost=50), key="r")

    # when: the nightly expiry runs, twice
    expired = services.points_expire(today=today)
    again = services.points_expire(today=today)

    # then: 110 points expired (what was left of both lots: the 50 spent came from the one that expires first), once
    member = refreshed(member)
    assert (expired, again) == (110, 0)
    assert member.balance == 40
    assert LedgerEntry.objects.get(membership=member, kind="expire").points == -110
    assert set(LedgerEntry.objects.filter(pk__in=[old_a.pk, old_b.pk]).values_list("remaining", flat=True)) == {0}
    assert services.ledger_audit() == []


def test_points_that_never_expire_are_never_expired(member):
    member.programme.points_lifetime_months = None
    member.programme.save()
    services.points_adjust(membership=refreshed(member), points=10, reason="x", key="x")
    assert LedgerEntry.objects.get(membership=member).expires_on is None
    assert services.points_expire(today=services.local_today() + dt.timedelta(days=5000)) == 0


def test_a_manual_adjustment_needs_a_reason_and_never_overdraws(member):
    with pytest.raises(ValidationError):
        services.points_adjust(membership=member, points=10, reason="  ", key="k")
    services.points_adjust(membership=member, points=10, reason="Goodwill", key="k")
    with pytest.raises(ValidationError):
        services.points_adjust(membership=member, points=-11, reason="Correction", key="k2")
    services.points_adjust(membership=member, points=-10, reason="Correction", key="k3")
    member = refreshed(member)
    assert (member.balance, member.lifetime_points) == (0, 0)


def test_the_same_adjustment_key_adjusts_once(member):
    first = services.points_adjust(membership=member, points=10, reason="Goodwill", key="form-1")
    second = services.points_adjust(membership=member, points=10, reason="Goodwill", key="form-1")
    assert first.pk == second.pk and refreshed(member).balance == 10


def test_redeeming_refuses_when_balance_is_short(member):
    reward = RewardFactory(programme=member.programme, points_cost=100)
    services.points_adjust(membership=member, points=99, reason="x", key="x")
    with pytest.raises(services.InsufficientPoints):
        services.points_redeem(membership=member, reward=reward, key="r")
    assert refreshed(member).balance == 99 and not Redemption.objects.exists()


def test_redeeming_respects_stock_minimum_tier_and_window(member):
    from django.utils import timezone

    services.points_adjust(membership=member, points=1000, reason="x", key="x")
    gold = member.programme.tiers.get(name="Gold")
    cases = [
        RewardFactory(programme=member.programme, stock=0),
        RewardFactory(programme=member.programme, min_tier=gold),
        RewardFactory(programme=member.programme, available_from=timezone.now() + dt.timedelta(days=1)),
        RewardFactory(programme=member.programme, available_until=timezone.now() - dt.timedelta(days=1)),
        RewardFactory(programme=member.programme, is_active=False),
        RewardFactory(),  # another programme's
    ]
    for i, reward in enumerate(cases):
        with pytest.raises(ValidationError):
            services.points_redeem(membership=member, reward=reward, key=f"r{i}")
    assert refreshed(member).balance == 1000


def test_a_redemption_issues_a_voucher_and_the_same_key_returns_it(member):
    services.points_adjust(membership=member, points=500, reason="x", key="x")
    reward = RewardFactory(programme=member.programme, points_cost=200, stock=5)
    first = services.points_redeem(membership=member, reward=reward, key="click-1")
    second = services.points_redeem(membership=member, reward=reward, key="click-1")
    assert first.pk == second.pk and second.replayed and not first.replayed
    assert len(first.voucher_code) == 11 and refreshed(member).balance == 300
    reward.refresh_from_db()
    assert reward.stock == 4
    with pytest.raises(ValidationError):  # the same key for another reward is refused
        services.points_redeem(membership=member, reward=RewardFactory(programme=member.programme), key="click-1")


def test_cancelling_a_redemption_gives_the_points_back_to_their_lots_once(member):
    lot = services.points_adjust(membership=member, points=300, reason="x", key="x")
    reward = RewardFactory(programme=member.programme, points_cost=200, stock=1)
    redemption = services.points_redeem(membership=member, reward=reward, key="r")
    services.redemption_cancel(redemption=redemption, reason="changed mind")
    services.redemption_cancel(redemption=redemption, reason="twice")
    member = refreshed(member)
    lot.refresh_from_db()
    reward.refresh_from_db()
    assert (member.balance, member.lifetime_points, lot.remaining, reward.stock) == (300, 300, 300, 1)
    assert LedgerEntry.objects.filter(redemption=redemption).count() == 2
    assert services.ledger_audit() == []


def test_ledger_entries_cannot_be_edited_or_deleted_in_python(member):
    entry = services.points_adjust(membership=member, points=10, reason="x", key="x")
    entry.points = 1000
    with pytest.raises(ValueError):
        entry.save()
    with pytest.raises(ValueError):
        entry.delete()
    with pytest.raises(ValueError):
        LedgerEntry.objects.filter(pk=entry.pk).update(points=1000)
    with pytest.raises(ValueError):
        LedgerEntry.objects.filter(pk=entry.pk).delete()


def test_the_database_refuses_to_edit_or_delete_a_ledger_entry(member):
    entry = services.points_adjust(membership=member, points=10, reason="x", key="x")
    for sql in (
        "UPDATE loyalty_ledgerentry SET points = 1000 WHERE id = %s",
        "UPDATE loyalty_ledgerentry SET reason = 'edited' WHERE id = %s",
        "DELETE FROM loyalty_ledgerentry WHERE id = %s",
    ):
        with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [entry.pk])
    with connection.cursor() as cursor:  # what is left of a lot may change, within the lot
        cursor.execute("UPDATE loyalty_ledgerentry SET remaining = 5 WHERE id = %s", [entry.pk])
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE loyalty_ledgerentry SET remaining = 11 WHERE id = %s", [entry.pk])


def test_the_database_refuses_a_negative_balance(member):
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.filter(pk=member.pk).update(balance=-1)


def test_deleting_a_customer_takes_their_ledger_with_them(member, buy):
    buy(member.customer, "1000")
    member.customer.delete()
    assert not LedgerEntry.objects.exists() and not Membership.objects.exists()
    assert LedgerEntry.objects.count() == 0


def test_loyalty_audit_passes_on_a_consistent_ledger(member, buy):
    buy(member.customer, "20000", "A")
    out = StringIO()
    call_command("loyalty_audit", stdout=out)
    assert "All 1 memberships match" in out.getvalue()


def test_loyalty_audit_catches_a_tampered_balance_and_exits_non_zero(member, buy):
    # given: a balance changed behind the ledger's back
    buy(member.customer, "20000", "A")
    other = member_join(CustomerFactory(), member.programme)
    Membership.objects.filter(pk=member.pk).update(balance=999)

    # when / then: the audit names the membership and fails
    err = StringIO()
    with pytest.raises(CommandError) as excinfo:
        call_command("loyalty_audit", stderr=err)
    assert excinfo.value.returncode == 1
    assert f"membership {member.pk}" in err.getvalue() and "balance 999 but the ledger sums to 200" in err.getvalue()
    assert f"membership {other.pk}" not in err.getvalue()
