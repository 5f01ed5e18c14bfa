"""The outreach panel on the customer page: recent outbound messages (with why one was skipped), scheduled
follow-ups and open staff tasks, in one query, for those allowed to see the outreach pages."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Permission
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from tests.factories import CustomerFactory, FollowUpRuleFactory, UserFactory, consenting_customer
from touchpoints.outreach import outbox, panels
from touchpoints.outreach.models import FollowUp, StaffTask

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(published):
    customer = consenting_customer(email="hanako@example.com")
    now = timezone.now()
    outbox.message_enqueue(customer=customer, key="sent", purpose="marketing", subject="Spring sale", body="x")
    no_consent = CustomerFactory(email="other@example.com", marketing_consent=False)
    outbox.message_enqueue(customer=no_consent, key="other", purpose="marketing", subject="Not theirs", body="x")
    customer.do_not_contact = True
    customer.save(update_fields=["do_not_contact"])
    outbox.message_enqueue(customer=customer, key="dnc", purpose="marketing", subject="Autumn sale", body="x")
    rule = FollowUpRuleFactory(name="Thank-you a day after a purchase")
    FollowUp.objects.create(
        rule=rule, customer=customer, trigger_key="t1", triggered_at=now, due_at=now + dt.timedelta(days=1)
    )
    FollowUp.objects.create(
        rule=rule, customer=customer, trigger_key="t0", triggered_at=now, due_at=now, status=FollowUp.Status.DONE
    )
    StaffTask.objects.create(customer=customer, title="Call about the kettle", due_at=now, channel="phone")
    StaffTask.objects.create(
        customer=customer, title="Closed already", due_at=now, channel="phone", status=StaffTask.Status.DONE
    )
    return customer


def test_the_panel_shows_messages_follow_ups_and_open_tasks(manager_client, customer):
    # when: a manager opens the customer page
    html = manager_client.get(customer.get_absolute_url()).content.decode()

    # then: the panel lists this customer's messages (the skipped one with its reason), what is scheduled and
    # the open task, with links to the outbox (filtered to the customer) and to the tasks page
    assert 'id="outreach-panel"' in html
    assert "Spring sale" in html and "Autumn sale" in html
    assert '<span class="small text-body-secondary">Do not contact</span>' in html
    assert "Not theirs" not in html
    assert "Thank-you a day after a purchase" in html
    assert "Call about the kettle" in html and "Closed already" not in html
    assert f"{reverse('outreach:outbox')}?customer={customer.pk}" in html
    assert reverse("outreach:tasks") in html


def test_the_panel_costs_one_query(manager, customer, django_assert_num_queries):
    request = RequestFactory().get("/")
    request.user = manager
    manager.has_perm("outreach.view_outboundmessage")  # the permissions are read once per request

    with django_assert_num_queries(1):
        context = panels.outreach_panel_context(request, customer)

    outreach = context["outreach"]
    assert [m.subject for m in outreach["message"]["rows"]] == ["Autumn sale", "Spring sale"]
    assert [m.get_skip_reason_display() for m in outreach["message"]["rows"]][0] == "Do not contact"
    assert [f.rule_name for f in outreach["followup"]["rows"]] == ["Thank-you a day after a purchase"]
    assert [t.title for t in outreach["task"]["rows"]] == ["Call about the kettle"]


def test_the_panel_shows_only_what_the_role_may_see(client, customer):
    # given: marketing (outbox and follow-ups, no staff tasks) and a user who may only see customers
    client.force_login(UserFactory(username="mk", role="Marketing"))
    marketing_html = client.get(customer.get_absolute_url()).content.decode()
    reader = UserFactory(username="reader")
    reader.user_permissions.add(Permission.objects.get(codename="view_customer"))
    client.force_login(reader)
    reader_html = client.get(customer.get_absolute_url()).content.decode()

    assert "Spring sale" in marketing_html and "Call about the kettle" not in marketing_html
    assert 'id="outreach-panel"' not in reader_html and "Spring sale" not in reader_html
