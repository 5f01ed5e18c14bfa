"""Text the system writes is stored as a key and shown in the reader's language (customers.system_text)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone, translation

from customers import system_text
from feedback import services as feedback_services
from feedback.models import Ticket
from loyalty.models import LedgerEntry
from tests.factories import CustomerFactory, UserFactory, member_join, purchase_record
from touchpoints.outreach.outbox import unsubscribe_url
from touchpoints.outreach.rules import task_create

JA = {"HTTP_ACCEPT_LANGUAGE": "ja"}
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def test_an_unknown_key_or_broken_parameters_show_the_stored_text():
    assert system_text.render("", {}, "as typed") == "as typed"
    assert system_text.render("nobody.registered.this", {}, "as stored") == "as stored"
    assert system_text.render("feedback.follow_up", {"kind": "csat"}, "as stored") == "as stored"  # no score


@pytest.mark.django_db
def test_a_bad_csat_follow_up_is_titled_in_each_readers_language(manager_client):
    customer = CustomerFactory(family_name="安藤", given_name="裕子")
    survey = feedback_services.survey_create(customer=customer, kind="csat", send=False)
    with translation.override("ja"):  # answered while the site runs in Japanese: the key is what counts
        feedback_services.survey_answer(survey=survey, score=2)
    ticket = Ticket.objects.get(source_survey=survey)
    assert ticket.subject == "Follow up: CSAT (1–5) score 2"  # the default language, for search and the API
    assert ticket.subject_key == "feedback.follow_up"
    detail = reverse("feedback:ticket_detail", args=[ticket.pk])
    ja = manager_client.get(detail, **JA).content.decode()
    assert "フォローアップ：CSAT（1〜5）スコア2" in ja and "Follow up:" not in ja
    queue = manager_client.get(reverse("feedback:queue"), **JA).content.decode()
    assert "フォローアップ：CSAT（1〜5）スコア2" in queue and "Follow up:" not in queue
    timeline = manager_client.get(customer.get_absolute_url(), **JA).content.decode()
    assert "Follow up:" not in timeline
    en = manager_client.get(detail, **EN).content.decode()
    assert "Follow up: CSAT (1–5) score 2" in en


@pytest.mark.django_db
def test_a_purchase_reason_written_in_japanese_reads_in_english(manager_client, django_capture_on_commit_callbacks):
    membership = member_join(customer=CustomerFactory())
    with translation.override("ja"), django_capture_on_commit_callbacks(execute=True):
        purchase_record(membership.customer, 1500, order_reference="A-1001")
    entry = LedgerEntry.objects.get(membership=membership, kind="earn")
    assert entry.reason == "Purchase A-1001" and entry.reason_key == "loyalty.purchase"
    page = reverse("loyalty:membership_detail", args=[membership.pk])
    assert "Purchase A-1001" in manager_client.get(page, **EN).content.decode()
    ja = manager_client.get(page, **JA).content.decode()
    assert "購入A-1001" in ja and "Purchase A-1001" not in ja


@pytest.mark.django_db
def test_a_reason_staff_typed_shows_as_typed_in_every_language(manager_client, manager):
    from loyalty.services import points_adjust

    membership = member_join(customer=CustomerFactory())
    points_adjust(membership=membership, points=50, reason="お詫びのポイント", key="k-typed", by=manager)
    page = reverse("loyalty:membership_detail", args=[membership.pk])
    assert "お詫びのポイント" in manager_client.get(page, **EN).content.decode()


@pytest.mark.django_db
def test_team_names_show_in_the_readers_language(client):
    user = UserFactory(username="lead", role="Manager")
    client.force_login(user)
    task = task_create(customer=CustomerFactory(), title="Call back", due_at=timezone.now(), by=user, assignee=None)
    task.group = Group.objects.get(name="Support")
    task.save(update_fields=["group"])
    body = client.get(reverse("outreach:tasks") + "?scope=all", **JA).content.decode()
    assert "サポート" in body


@pytest.mark.django_db
def test_the_unsubscribe_page_is_headed_with_the_shops_name(client, settings):
    settings.TSUNAGU_SHOP_NAME = "茶葉の店 みどり"
    customer = CustomerFactory(marketing_consent=True)
    body = client.get(unsubscribe_url(customer.pk), **JA).content.decode()
    assert 'id="shop-name">茶葉の店 みどり<' in body
    assert "つなぐ" not in body and "Tsunagu" not in body.split("<body", 1)[1]


@pytest.mark.django_db
def test_the_admin_scheduled_jobs_section_reads_in_japanese(client):
    admin = UserFactory(username="root", is_superuser=True)
    client.force_login(admin)
    body = client.get(reverse("admin:index"), **JA).content.decode()
    assert "定期ジョブ" in body and "Periodic Tasks" not in body
    assert "定期タスク" in body and "periodic tasks" not in body.lower()
