"""The retention policy: customers inactive for TSUNAGU_RETENTION_INACTIVE_YEARS are anonymised nightly, once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.utils import timezone

from crm.celery import app
from crm.dataprotection.models import DataRequest
from crm.dataprotection.tasks import retention_anonymise_task
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def old_and_recent(db):
    now = timezone.now()
    old = CustomerFactory(email="old@example.jp", last_activity_at=now - dt.timedelta(days=3 * 366))
    recent = CustomerFactory(email="recent@example.jp", last_activity_at=now - dt.timedelta(days=300))
    return old, recent


def test_the_policy_is_off_by_default(old_and_recent, settings):
    assert settings.TSUNAGU_RETENTION_INACTIVE_YEARS == 0
    assert retention_anonymise_task() == 0
    old, _recent = old_and_recent
    old.refresh_from_db()
    assert old.email == "old@example.jp" and not DataRequest.objects.exists()


def test_inactive_customers_are_anonymised_once_and_recorded_as_the_policy(old_and_recent, settings):
    # given
    settings.TSUNAGU_RETENTION_INACTIVE_YEARS = 2
    old, recent = old_and_recent

    # when: the nightly job runs, twice
    first = retention_anonymise_task()
    second = retention_anonymise_task()

    # then: the old customer only, once, recorded as the policy's (no staff member)
    assert (first, second) == (1, 0)
    old.refresh_from_db()
    recent.refresh_from_db()
    assert old.email == "" and old.family_name == "[erased]"
    assert recent.email == "recent@example.jp"
    request = DataRequest.objects.get()
    assert (request.kind, request.status, request.handled_by, request.customer_ref) == (
        "retention",
        "completed",
        None,
        old.pk,
    )
    assert request.received_via == "policy" and request.outcome["customer"] == 1


def test_the_command_counts_then_anonymises(old_and_recent, settings, capsys):
    settings.TSUNAGU_RETENTION_INACTIVE_YEARS = 2
    call_command("retention_anonymise", "--dry-run")
    assert "1 customers due" in capsys.readouterr().out
    assert not DataRequest.objects.exists()
    call_command("retention_anonymise")
    assert "1 customers anonymised" in capsys.readouterr().out
    assert DataRequest.objects.filter(kind="retention").count() == 1


def test_the_job_is_in_the_beat_schedule():
    tasks = [entry["task"] for entry in app.conf.beat_schedule.values()]
    assert "crm.dataprotection.tasks.retention_anonymise_task" in tasks


def test_the_job_works_through_every_chunk(settings):
    from crm.dataprotection.services import retention_anonymise

    settings.TSUNAGU_RETENTION_INACTIVE_YEARS = 1
    long_ago = timezone.now() - dt.timedelta(days=800)
    customers = [CustomerFactory(last_activity_at=long_ago) for _ in range(3)]
    assert retention_anonymise(chunk=2) == 3
    assert sorted(DataRequest.objects.values_list("customer_ref", flat=True)) == sorted(c.pk for c in customers)
    assert retention_anonymise(chunk=2) == 0
