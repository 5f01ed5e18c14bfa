"""Outreach pages: every URL with every role, the public unsubscribe pages (a GET changes nothing),
forms, escaping of what customers and staff typed, constant queries on the outbox list."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer, Segment
from tests.factories import (
    CustomerFactory,
    FollowUpRuleFactory,
    MessageTemplateFactory,
    UserFactory,
    consenting_customer,
)
from touchpoints.models import Touchpoint
from touchpoints.outreach import broadcasts, outbox, rules
from touchpoints.outreach.models import Broadcast, FollowUpRule, MessageTemplate, OutboundMessage, StaffTask

pytestmark = pytest.mark.django_db

ROLES = ["Support", "Marketing", "Manager", None]
SCRIPT = '<script>alert("x")</script>'


@pytest.fixture(autouse=True)
def _no_quiet_hours(settings, published):
    settings.TSUNAGU_QUIET_HOURS = ""


def urls(owner):
    customer = consenting_customer()
    template = MessageTemplateFactory()
    rule = FollowUpRuleFactory(template=template)
    message = outbox.message_enqueue(customer=customer, key="perm", purpose="marketing", template=template)
    segment = Segment.objects.create(name=f"All {owner.pk}")
    broadcast = Broadcast.objects.create(name="B", template=template, segment=segment, send_at=timezone.now())
    task = StaffTask.objects.create(customer=customer, title="Call", due_at=timezone.now(), assignee=owner)
    everyone = {"Support", "Marketing", "Manager"}
    marketing = {"Marketing", "Manager"}
    return {
        "templates": ("get", reverse("outreach:templates"), marketing),
        "template_create": ("get", reverse("outreach:template_create"), marketing),
        "template_create_post": ("post", reverse("outreach:template_create"), marketing),
        "template_update": ("get", reverse("outreach:template_update", args=[template.pk]), marketing),
        "template_update_post": ("post", reverse("outreach:template_update", args=[template.pk]), marketing),
        "template_preview": ("get", reverse("outreach:template_preview", args=[template.pk]), marketing),
        "rules": ("get", reverse("outreach:rules"), marketing),
        "rule_create": ("get", reverse("outreach:rule_create"), marketing),
        "rule_create_post": ("post", reverse("outreach:rule_create"), marketing),
        "rule_update": ("get", reverse("outreach:rule_update", args=[rule.pk]), marketing),
        "rule_update_post": ("post", reverse("outreach:rule_update", args=[rule.pk]), marketing),
        "outbox": ("get", reverse("outreach:outbox"), everyone),
        "outbox_detail": ("get", reverse("outreach:outbox_detail", args=[message.pk]), everyone),
        "outbox_retry": ("post", reverse("outreach:outbox_retry", args=[message.pk]), {"Manager"}),
        "outbox_cancel": ("post", reverse("outreach:outbox_cancel", args=[message.pk]), {"Manager"}),
        "broadcasts": ("get", reverse("outreach:broadcasts"), marketing),
        "broadcast_create": ("get", reverse("outreach:broadcast_create"), marketing),
        "broadcast_create_post": ("post", reverse("outreach:broadcast_create"), marketing),
        "broadcast_detail": ("get", reverse("outreach:broadcast_detail", args=[broadcast.pk]), marketing),
        "broadcast_progress": ("get", reverse("outreach:broadcast_progress", args=[broadcast.pk]), marketing),
        "broadcast_cancel": ("post", reverse("outreach:broadcast_cancel", args=[broadcast.pk]), marketing),
        "tasks": ("get", reverse("outreach:tasks"), {"Support", "Manager"}),
        "task_snooze": ("post", reverse("outreach:task_snooze", args=[task.pk]), {"Support", "Manager"}),
        "task_done": ("post", reverse("outreach:task_done", args=[task.pk]), {"Support", "Manager"}),
        "task_reassign": ("post", reverse("outreach:task_reassign", args=[task.pk]), {"Support", "Manager"}),
    }


@pytest.mark.parametrize("role", ROLES)
def test_every_outreach_url_with_every_role(client, role):
    user = UserFactory(username=f"user-{role}", role=role)
    client.force_login(user)
    for name, (method, url, allowed) in urls(user).items():
        response = getattr(client, method)(url, {})
        if role in allowed:
            assert response.status_code in (200, 302), (name, role, response.status_code)
        else:
            assert response.status_code == 403, (name, role, response.status_code)


def test_anonymous_visitors_are_sent_to_log_in(client):
    for name, (method, url, _allowed) in urls(UserFactory(username="owner")).items():
        response = getattr(client, method)(url, {})
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], name


def test_staff_may_only_act_on_their_own_or_their_teams_tasks(support_client, manager):
    task = StaffTask.objects.create(
        customer=CustomerFactory(), title="Not yours", due_at=timezone.now(), assignee=manager
    )
    response = support_client.post(reverse("outreach:task_snooze", args=[task.pk]), {"until": "1h"})
    assert response.status_code == 404


def test_the_navbar_shows_the_outreach_menu_by_role(client):
    client.force_login(UserFactory(username="m", role="Marketing"))
    body = client.get(reverse("home")).content.decode()
    assert reverse("outreach:rules") in body and reverse("outreach:tasks") not in body
    client.force_login(UserFactory(username="s", role="Support"))
    body = client.get(reverse("home")).content.decode()
    assert reverse("outreach:tasks") in body and reverse("outreach:rules") not in body


# --- Unsubscribe ----------------------------------------------------------------------------------


def test_an_unsubscribe_link_shows_a_confirmation_and_a_get_changes_nothing():
    customer = consenting_customer()
    message = outbox.message_enqueue(customer=customer, key="u1", purpose="marketing", body="x {unsubscribe_url}")
    url = outbox.unsubscribe_url(customer.pk).removeprefix("http://localhost:8000")

    response = Client().get(url)

    customer.refresh_from_db()
    message.refresh_from_db()
    assert response.status_code == 200 and b'id="unsubscribe-confirm"' in response.content
    assert customer.marketing_consent is True and message.status == "queued"


def test_the_unsubscribe_page_speaks_the_customers_language_not_the_browsers():
    customer = consenting_customer(preferred_language="ja")
    url = outbox.unsubscribe_url(customer.pk).removeprefix("http://localhost:8000")
    page = Client().get(url, headers={"Accept-Language": "en"}).content.decode()
    assert '<html lang="ja"' in page


def test_a_link_mailed_to_a_record_merged_away_unsubscribes_the_record_it_went_into(manager):
    from customers.services import customer_merge

    kept, duplicate = consenting_customer(), consenting_customer()
    old_link = outbox.unsubscribe_url(duplicate.pk).removeprefix("http://localhost:8000")
    customer_merge(primary=kept, duplicate=duplicate, by=manager)
    third = consenting_customer()
    customer_merge(primary=third, duplicate=kept, by=manager)  # and merged again

    assert Client().get(old_link).status_code == 200
    assert Client().post(old_link).status_code == 200
    third.refresh_from_db()
    assert third.marketing_consent is False
    forged = outbox.unsubscribe_url(987654321).removeprefix("http://localhost:8000")
    assert Client().get(forged).status_code == 404


def test_the_confirmation_post_unsubscribes_and_stops_queued_marketing():
    customer = consenting_customer()
    message = outbox.message_enqueue(customer=customer, key="u2", purpose="marketing", body="x {unsubscribe_url}")
    url = outbox.unsubscribe_url(customer.pk).removeprefix("http://localhost:8000")
    browser = Client(enforce_csrf_checks=True)
    page = browser.get(url)
    token = page.cookies["csrftoken"].value

    refused = Client(enforce_csrf_checks=True).post(url)
    response = browser.post(url, {"csrfmiddlewaretoken": token})

    customer.refresh_from_db()
    message.refresh_from_db()
    assert refused.status_code == 403  # the form POST keeps its CSRF check
    assert response.status_code == 200 and b"unsubscribe-done" in response.content
    assert customer.marketing_consent is False and customer.consent_source == "unsubscribe"
    assert (message.status, message.skip_reason) == ("skipped", "opted_out")


def test_the_rfc_8058_one_click_post_needs_no_csrf_token():
    customer = consenting_customer()
    url = outbox.one_click_unsubscribe_url(customer.pk).removeprefix("http://localhost:8000")
    client = Client(enforce_csrf_checks=True)

    assert client.get(url).status_code == 302  # a person opening the link sees the confirmation page
    assert client.post(url, {"something": "else"}).status_code == 400
    response = client.post(url, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")

    customer.refresh_from_db()
    assert response.status_code == 200 and customer.marketing_consent is False
    assert "one-click" in customer.consent_evidence


def test_a_forged_or_tampered_link_unsubscribes_nobody():
    customer = consenting_customer()
    token = outbox.unsubscribe_token(customer.pk)
    other = CustomerFactory(marketing_consent=True)
    forged = outbox.unsubscribe_token(other.pk).split(":")[0] + ":" + token.split(":")[1]
    client = Client(enforce_csrf_checks=True)
    for bad in (forged, "abc", token + "x"):
        assert client.get(f"/unsubscribe/{bad}/").status_code == 404
        assert client.post(f"/unsubscribe/{bad}/one-click/", {"List-Unsubscribe": "One-Click"}).status_code == 404
    assert Customer.objects.filter(marketing_consent=True).count() == 2


def test_unsubscribe_links_never_expire(settings):
    customer = consenting_customer()
    token = outbox.unsubscribe_token(customer.pk)
    assert outbox.customer_id_from_token(token) == customer.pk  # no timestamp in the signature


# --- Templates, rules, broadcasts ------------------------------------------------------------------


def test_a_template_with_an_unknown_placeholder_is_refused(marketing_client):
    response = marketing_client.post(
        reverse("outreach:template_create"),
        {
            "name": "Hi",
            "slug": "hi",
            "channel": "email",
            "purpose": "marketing",
            "subject_en": "Hi {first_name}",
            "body_en": "Hello {customer_name} {unsubscribe_url}",
        },
    )
    assert response.status_code == 200 and "{first_name}" in response.content.decode()
    assert not MessageTemplate.objects.filter(slug="hi").exists()


def test_marketing_email_templates_must_carry_the_unsubscribe_link(marketing_client):
    response = marketing_client.post(
        reverse("outreach:template_create"),
        {"name": "Hi", "slug": "hi", "channel": "email", "purpose": "marketing", "body_en": "Hello"},
    )
    assert response.status_code == 200 and not MessageTemplate.objects.filter(slug="hi").exists()


def test_a_template_is_created_and_previewed_for_a_customer_with_what_they_typed_escaped(marketing_client):
    response = marketing_client.post(
        reverse("outreach:template_create"),
        {
            "name": "Thanks",
            "slug": "thanks",
            "channel": "email",
            "purpose": "marketing",
            "subject_en": "Thanks {given_name}",
            "body_en": "Dear {customer_name}\n<b>bold?</b>\n{unsubscribe_url}",
            "is_active": "on",
        },
    )
    template = MessageTemplate.objects.get(slug="thanks")
    assert response.status_code == 302
    consenting_customer(given_name=SCRIPT, email="x@example.com")

    preview = marketing_client.get(
        reverse("outreach:template_preview", args=[template.pk]), {"customer": "x@example.com"}
    )

    body = preview.content.decode()
    assert SCRIPT not in body and "&lt;script&gt;" in body and "&lt;b&gt;bold?&lt;/b&gt;" in body
    assert "/unsubscribe/" in body


def test_the_preview_names_the_language_and_the_others_of_the_same_name(marketing_client):
    template = MessageTemplateFactory(body_en="Hi {customer_name} {unsubscribe_url}")
    first = consenting_customer(family_name="斉藤", given_name="一郎", preferred_language="en")
    second = consenting_customer(family_name="斉藤", given_name="二郎", preferred_language="en")
    url = reverse("outreach:template_preview", args=[template.pk])
    body = marketing_client.get(url, {"customer": "斉藤"}).content.decode()
    assert "(language: English)" in body and 'id="preview-others"' in body
    shown, other = (first, second) if f"customer {first.pk} " in body else (second, first)
    assert f"({other.pk})" in body
    body = marketing_client.get(url, {"customer": str(other.pk)}).content.decode()
    assert f"customer {other.pk} " in body and 'id="preview-others"' not in body


def test_a_template_slug_never_changes(marketing_client):
    template = MessageTemplateFactory(slug="fixed")
    marketing_client.post(
        reverse("outreach:template_update", args=[template.pk]),
        {
            "name": "Renamed",
            "slug": "other",
            "channel": "email",
            "purpose": "marketing",
            "body_en": "Hi {unsubscribe_url}",
        },
    )
    template.refresh_from_db()
    assert (template.name, template.slug) == ("Renamed", "fixed")


def test_only_a_manager_makes_a_template_a_service_message(marketing, manager):
    # a service (transactional) message skips marketing consent
    marketing_client, manager_client = Client(), Client()
    marketing_client.force_login(marketing)
    manager_client.force_login(manager)
    template = MessageTemplateFactory(purpose="marketing", body_en="Hi {unsubscribe_url}")
    url = reverse("outreach:template_update", args=[template.pk])
    data = {"name": "Receipt", "channel": "email", "purpose": "transactional", "body_en": "Thanks"}
    response = marketing_client.post(url, data)
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert MessageTemplate.objects.get(pk=template.pk).purpose == "marketing"
    assert manager_client.post(url, data).status_code == 302
    assert MessageTemplate.objects.get(pk=template.pk).purpose == "transactional"
    # marketing may still reword a service message; its purpose stays as the manager set it
    response = marketing_client.post(url, {**data, "purpose": "marketing", "body_en": "Thank you!"})
    assert response.status_code == 302
    template.refresh_from_db()
    assert (template.purpose, template.body_en) == ("transactional", "Thank you!")


def test_rules_and_broadcasts_offer_only_what_they_may_send(marketing, manager):
    from touchpoints.outreach.forms import BroadcastForm, FollowUpRuleForm

    newsletter = MessageTemplateFactory(name="Newsletter", purpose="marketing", body_en="News {unsubscribe_url}")
    receipt = MessageTemplateFactory(name="Receipt", purpose="transactional", body_en="Thanks {customer_name}")
    csat = MessageTemplate.objects.get(slug="csat-invite")  # needs a ticket and a survey: {ticket_reference}

    def offered(form) -> set[int]:
        return set(form.fields["template"].queryset.values_list("pk", flat=True))

    assert newsletter.pk in offered(FollowUpRuleForm(user=marketing))
    assert receipt.pk not in offered(FollowUpRuleForm(user=marketing))
    assert receipt.pk in offered(FollowUpRuleForm(user=manager))
    assert csat.pk not in offered(FollowUpRuleForm(user=manager))
    assert offered(BroadcastForm()) >= {newsletter.pk} and not offered(BroadcastForm()) & {receipt.pk, csat.pk}

    # and the services refuse the same, whatever form sent them
    rule = FollowUpRuleFactory.build(template=receipt)
    with pytest.raises(ValidationError, match="Only a manager"):
        rules.rule_save(rule=rule, by=marketing)
    rules.rule_save(rule=rule, by=manager)
    rule.is_active = False  # marketing may still pause a rule a manager set up
    rules.rule_save(rule=rule, by=marketing)
    with pytest.raises(ValidationError, match="needs details"):
        rules.rule_save(rule=FollowUpRuleFactory.build(template=csat), by=manager)
    segment = Segment.objects.create(name="Everyone", rules={})
    for template in (receipt, csat):
        with pytest.raises(ValidationError):
            broadcasts.broadcast_create(name="Mass", template=template, segment=segment, by=manager)


def test_a_rule_is_created_from_the_form(marketing_client):
    template = MessageTemplateFactory()
    response = marketing_client.post(
        reverse("outreach:rule_create"),
        {
            "name": "Thank you",
            "is_active": "on",
            "trigger": "touchpoint",
            "trigger_type": FollowUpRuleFactory.trigger_type.function().pk,
            "delay_amount": "1",
            "delay_unit": "days",
            "cap_days": "7",
            "action": "send",
            "template": template.pk,
            "task_channel": "phone",
            "assign_to": "owner",
            "stop_if_purchased": "on",
        },
    )
    assert response.status_code == 302
    rule = FollowUpRule.objects.get(name="Thank you")
    assert rule.template == template and rule.delay == dt.timedelta(days=1)


def test_a_rule_form_names_what_its_trigger_and_action_need(marketing_client):
    response = marketing_client.post(
        reverse("outreach:rule_create"),
        {
            "name": "Half",
            "trigger": "stage",
            "delay_amount": "0",
            "delay_unit": "days",
            "cap_days": "0",
            "action": "task",
            "task_channel": "phone",
            "assign_to": "group",
        },
    )
    body = response.content.decode()
    assert response.status_code == 200 and body.count("invalid-feedback") >= 3
    assert not FollowUpRule.objects.exists()


def test_a_broadcast_is_created_and_shows_its_progress(marketing_client):
    segment = Segment.objects.create(name="Everyone")
    template = MessageTemplateFactory()
    response = marketing_client.post(
        reverse("outreach:broadcast_create"),
        {
            "name": "Spring",
            "template": template.pk,
            "segment": segment.pk,
            "cap_days": "0",
            "action": "send",
            "expected": "0",
        },
    )
    broadcast = Broadcast.objects.get(name="Spring")
    assert response.status_code == 302
    page = marketing_client.get(broadcast.get_absolute_url())
    assert page.status_code == 200 and b'hx-trigger="every 3s"' in page.content


# --- Outbox ---------------------------------------------------------------------------------------


def make_messages(n: int, prefix: str):
    template = MessageTemplateFactory(subject_en=SCRIPT + " {customer_name}")
    for i in range(n):
        customer = consenting_customer(family_name=SCRIPT, email=f"{prefix}{i}@example.com")
        outbox.message_enqueue(customer=customer, key=f"{prefix}{i}", purpose="marketing", template=template)


def test_the_outbox_list_runs_the_same_queries_for_5_and_60_messages(support_client, django_assert_max_num_queries):
    make_messages(5, "a")
    with django_assert_max_num_queries(8) as few:
        support_client.get(reverse("outreach:outbox"))
    make_messages(55, "b")
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = support_client.get(reverse("outreach:outbox"), {"status": "queued"})
    assert response.status_code == 200


def test_the_outbox_escapes_names_and_subjects_and_pages_by_keyset(support_client, settings):
    settings.TSUNAGU_PAGE_SIZE = 3
    make_messages(5, "c")
    response = support_client.get(reverse("outreach:outbox"))
    body = response.content.decode()
    assert SCRIPT not in body and "&lt;script&gt;" in body
    assert 'rel="next"' in body and "after=" in body
    second = support_client.get(
        reverse("outreach:outbox") + "?" + body.split('rel="next" href="?')[1].split('"')[0].replace("&amp;", "&")
    )
    assert second.status_code == 200 and 'rel="prev"' in second.content.decode()


def test_the_outbox_ignores_unknown_filters(support_client):
    make_messages(1, "d")
    response = support_client.get(reverse("outreach:outbox"), {"status": "customer__password", "order": "x"})
    assert response.status_code == 200 and "1 message" in response.content.decode()


def test_the_outbox_list_shows_a_failed_message_with_its_error_cut_and_escaped(support_client):
    # given a message that failed with an error longer than the list shows
    make_messages(1, "f")
    OutboundMessage.objects.filter(key="f0").update(status="failed", attempts=3, last_error=SCRIPT + "y" * 200)

    # when the outbox is listed
    body = support_client.get(reverse("outreach:outbox")).content.decode()

    # then its status is a red badge, its error is escaped and cut, and its attempts are counted
    assert '<span class="badge text-bg-danger">Failed</span>' in body
    assert SCRIPT not in body and '<span class="small text-danger outbox-error">&lt;script&gt;' in body
    assert "y" * 40 in body and "y" * 60 not in body
    assert '<td class="text-end">3</td>' in body


def test_the_outbox_detail_escapes_the_body(support_client):
    make_messages(1, "e")
    message = OutboundMessage.objects.get()
    body = support_client.get(reverse("outreach:outbox_detail", args=[message.pk])).content.decode()
    assert SCRIPT not in body and "&lt;script&gt;" in body


# --- My follow-ups --------------------------------------------------------------------------------


def test_my_follow_ups_lists_overdue_and_due_tasks_and_marks_one_done(support_client, support):
    customer = consenting_customer(family_name=SCRIPT)
    overdue = rules.task_create(
        customer=customer, title="Call back", due_at=timezone.now() - dt.timedelta(days=2), by=None, assignee=support
    )
    StaffTask.objects.create(customer=customer, title="Due now", due_at=timezone.now(), assignee=support)
    StaffTask.objects.create(
        customer=customer, title="Later", due_at=timezone.now() + dt.timedelta(days=3), assignee=support
    )

    page = support_client.get(reverse("outreach:tasks"))
    body = page.content.decode()
    assert "Call back" in body and SCRIPT not in body
    # overdue: before today; a task due now is due today; a later one (a snoozed one) is listed as upcoming
    assert [t.title for t in page.context["overdue"]] == ["Call back"]
    assert [t.title for t in page.context["due"]] == ["Due now"]
    assert [t.title for t in page.context["upcoming"]] == ["Later"] and page.context["later"] == 0

    support_client.post(
        reverse("outreach:task_done", args=[overdue.pk]),
        {
            "touchpoint_type": Touchpoint._meta.get_field("type").related_model.objects.get(slug="support").pk,
            "summary": "Talked",
        },
    )
    overdue.refresh_from_db()
    assert overdue.status == "done" and overdue.touchpoint.summary == "Talked"


def test_my_follow_ups_page_runs_few_queries_however_many_tasks(support_client, support, django_assert_max_num_queries):
    customer = consenting_customer()
    for i in range(30):
        StaffTask.objects.create(customer=customer, title=f"T{i}", due_at=timezone.now(), assignee=support)
    with django_assert_max_num_queries(12):
        assert support_client.get(reverse("outreach:tasks")).status_code == 200


def test_seeded_template_and_policy_names_read_in_japanese(marketing_client):
    from django.utils import translation

    from feedback.models import SlaPolicy

    body = marketing_client.get(reverse("outreach:templates"), headers={"Accept-Language": "ja"}).content.decode()
    assert "フィードバック：NPSアンケート" in body and "Feedback: NPS survey" not in body
    with translation.override("ja"):
        assert str(SlaPolicy.objects.get(is_follow_up=True)) == "フォローアップ（クローズドループ）"
