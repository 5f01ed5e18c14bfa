"""The rollups: the incremental refresh always ends where a rebuild from scratch does, row for row."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from crm.insights import metrics, rollups
from crm.insights.models import (
    CohortCell,
    CustomerLapse,
    CustomerRollupState,
    DailyRollup,
    RollupDirty,
    RollupEdge,
    RollupWatermark,
    TicketResponse,
)
from crm.insights.tasks import rollups_rebuild_task, rollups_refresh_task
from customers.services import customer_delete, customer_merge
from feedback.models import Status, Survey
from loyalty.models import Membership
from tests.crm.insights.conftest import answer, at, ledger, member, ticket, touch
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def snapshot() -> dict[str, list]:
    return {
        "days": list(DailyRollup.objects.order_by("day").values(*["day", *rollups.ALL_FIELDS, "revenue"])),
        "edges": list(
            RollupEdge.objects.order_by("kind", "from_day", "to_day", "from_is_first").values_list(
                "kind", "from_day", "to_day", "from_is_first", "n"
            )
        ),
        "cohorts": list(
            CohortCell.objects.order_by("cohort_month", "month_offset").values_list(
                "cohort_month", "month_offset", "customers"
            )
        ),
        "responses": list(TicketResponse.objects.order_by("ticket_id").values_list("ticket_id", "day", "seconds")),
        "lapses": list(
            CustomerLapse.objects.order_by("customer_id", "last_day").values_list("customer_id", "last_day")
        ),
        "states": list(
            CustomerRollupState.objects.order_by("customer_id").values_list(
                "customer_id", "activity_days", "purchase_days", "ledger_days"
            )
        ),
    }


def assert_refresh_equals_rebuild() -> dict[str, list]:
    rollups.refresh()
    incremental = snapshot()
    rollups.rebuild()
    rebuilt = snapshot()
    for table in rebuilt:
        assert incremental[table] == rebuilt[table], table
    return rebuilt


def test_the_first_refresh_rebuilds(insights_data):
    result = rollups.refresh()
    assert result.rebuilt
    assert RollupWatermark.objects.get().lapse_days == 30
    june = DailyRollup.objects.get(day=dt.date(2026, 6, 5))
    assert (june.orders, june.sales, june.touchpoints, june.points_earned) == (2, Decimal(8000), 2, 80)
    assert DailyRollup.objects.get(day=dt.date(2026, 6, 1)).orders == 1  # 00:30 in Tokyo is 06-01
    assert not DailyRollup.objects.filter(day=dt.date(2026, 6, 12)).exists()  # the newsletter is no activity


def test_the_python_path_gives_the_rows_of_the_sql_rebuild(insights_data):
    """The per-customer code (the refresh, and the rebuild on SQLite) against the set-based SQL."""
    rollups.rebuild()
    sql = snapshot()
    RollupEdge.objects.all().delete()
    CohortCell.objects.all().delete()
    CustomerRollupState.objects.all().delete()
    rollups.refresh_customers(Customer_ids(), lapse=30)
    rollups.refresh_responses(None)
    python = snapshot()
    assert python == sql


def Customer_ids() -> list[int]:  # noqa: N802
    from customers.models import Customer

    return list(Customer.objects.values_list("pk", flat=True))


def test_refresh_twice_is_refresh_once(insights_data):
    rollups.refresh()
    before = snapshot()
    second = rollups.refresh()
    assert not second.rebuilt  # it recomputes the customers within the safety margin, to the same rows
    assert snapshot() == before


def test_new_and_backdated_rows_then_refresh_equals_rebuild(insights_data):
    c = insights_data.customers
    rollups.refresh()
    touch(c["D"], at(6, 29), "transaction", amount=Decimal(700))  # D comes back: no lapse any more, a purchase
    touch(c["G"], at(2, 3))  # backdated: G's first activity moves to February
    touch(c["F"], at(6, 29, 23, 59))
    new = CustomerFactory()
    touch(new, timezone.now())
    answer(c["B"], Survey.Kind.CSAT, 1, at(6, 29))
    ledger(Membership.objects.get(customer=c["C"]), "earn", 5, at(6, 29))
    member(c["E"], Membership.objects.first().programme, "Regular", at(6, 29))
    t = ticket(c["G"], at(6, 28), first_response_due_at=at(6, 28, 13))
    result = rollups.refresh()
    assert not result.rebuilt
    rollups.refresh()
    incremental = snapshot()
    rollups.rebuild()
    rebuilt = snapshot()
    for table in rebuilt:
        assert incremental[table] == rebuilt[table], table
    # The figures moved as expected: D bought in June, so there are 4 purchasers.
    board = metrics.dashboard(insights_data.june, sections=["customers"], today=insights_data.today)
    assert board.figures["purchasers"].value == 4
    # A ticket answered late (the SLA job flags breaches with .update(), leaving updated_at alone).
    rollups.refresh()
    type(t).objects.filter(pk=t.pk).update(first_response_breached=True)
    RollupWatermark.objects.update(refreshed_at=timezone.now() - dt.timedelta(hours=1))
    assert_refresh_equals_rebuild()


def test_reopened_ticket_and_reopened_membership(insights_data):
    rollups.refresh()
    from feedback.models import Ticket

    resolved = Ticket.objects.get(customer=insights_data.customers["A"])
    resolved.status, resolved.resolved_at = Status.OPEN, None
    resolved.save()
    closed = Membership.objects.get(customer=insights_data.customers["D"])
    closed.status, closed.closed_at = Membership.Status.ACTIVE, None
    closed.save()
    assert_refresh_equals_rebuild()


def test_merge_then_refresh_equals_rebuild(insights_data):
    c = insights_data.customers
    rollups.refresh()
    customer_merge(primary=c["G"], duplicate=c["D"])  # D's touchpoints move to G
    assert RollupDirty.objects.filter(customer_id=c["D"].pk).exists()
    rebuilt = assert_refresh_equals_rebuild()
    assert c["D"].pk not in [row[0] for row in rebuilt["states"]]
    assert not RollupDirty.objects.exists()


def test_delete_then_refresh_equals_rebuild(insights_data):
    c = insights_data.customers
    rollups.refresh()
    customer_delete(customer=c["A"])  # touchpoints, tickets, answers, membership and ledger go with them
    rebuilt = assert_refresh_equals_rebuild()
    assert not DailyRollup.objects.filter(day=dt.date(2026, 1, 10)).exists()
    assert c["A"].pk not in [row[0] for row in rebuilt["states"]]


def test_changing_the_lapse_window_rebuilds(insights_data, settings):
    rollups.refresh()
    settings.TSUNAGU_LAPSE_DAYS = 45
    assert rollups.refresh().rebuilt
    assert RollupWatermark.objects.get().lapse_days == 45


def test_the_nightly_task_rebuilds_what_a_refresh_cannot_see(insights_data):
    rollups.refresh()
    before = snapshot()
    # A row written outside the services, with a creation time older than the refresh's safety margin.
    DailyRollup.objects.filter(day=DailyRollup.objects.order_by("day").values_list("day", flat=True).first()).update(
        new_customers=999
    )
    assert rollups.refresh().rebuilt is False and snapshot() != before

    result = rollups_rebuild_task.apply().get()

    assert result["rebuilt"] is True
    assert snapshot() == before


def test_the_task_runs_the_refresh(insights_data):
    first = rollups_refresh_task.apply().get()
    assert first["rebuilt"] is True
    second = rollups_refresh_task.apply().get()
    assert second["rebuilt"] is False


def test_the_commands(insights_data, capsys):
    call_command("rollups_refresh")
    call_command("rollups_rebuild")
    out = capsys.readouterr().out
    assert "Rebuilt: 6 customers" in out
    assert "days:" in out


def test_the_beat_entry():
    from crm.celery import app

    entries = [e for e in app.conf.beat_schedule.values() if e["task"] == "crm.insights.tasks.rollups_refresh_task"]
    assert len(entries) == 1 and entries[0]["options"]["expires"] == entries[0]["schedule"] == 300
