"""Follow-up rules: triggers schedule once, the dispatcher settles each follow-up once (conditions, stop
conditions, caps), staff tasks are completed, reassigned and snoozed."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.utils import timezone

from customers.models import Customer, CustomerActivity, Segment
from tests.factories import (
    FollowUpRuleFactory,
    MessageTemplateFactory,
    TouchpointTypeFactory,
    activity_set,
    consenting_customer,
    touchpoint_create,
)
from touchpoints.models import Touchpoint, TouchpointType
from touchpoints.outreach import outbox, rules
from touchpoints.outreach.models import FollowUp, FollowUpRule, OutboundMessage, StaffTask

pytestmark = pytest.mark.django_db

Outcome = FollowUp.Outcome


@pytest.fixture(autouse=True)
def _fresh_rules(settings):
    settings.TSUNAGU_QUIET_HOURS = ""  # these tests run at any hour; quiet hours are tested with the outbox
    rules.rules_changed()
    yield
    rules.rules_changed()


def record(customer, slug="transaction", capture=None, **kwargs):
    """Record a touchpoint and run its after-commit events (the rule triggers)."""
    with capture(execute=True):
        return touchpoint_create(customer, slug, **kwargs)


def test_a_touchpoint_schedules_a_follow_up_once(django_capture_on_commit_callbacks):
    rule = FollowUpRuleFactory()
    customer = consenting_customer()

    touchpoint = record(customer, capture=django_capture_on_commit_callbacks, amount=1000)
    rules.followups_schedule_for_touchpoint(touchpoint=touchpoint)  # the event delivered twice

    followup = FollowUp.objects.get()
    assert followup.rule == rule and followup.customer == customer
    assert followup.trigger_key == f"tp:{touchpoint.pk}" and followup.touchpoint == touchpoint
    assert followup.due_at == touchpoint.occurred_at + dt.timedelta(days=1)


def test_other_touchpoint_types_and_inactive_rules_schedule_nothing(django_capture_on_commit_callbacks):
    FollowUpRuleFactory(trigger_type=TouchpointTypeFactory(slug="support"))
    FollowUpRuleFactory(is_active=False)
    record(consenting_customer(), capture=django_capture_on_commit_callbacks, amount=10)
    assert FollowUp.objects.count() == 0


def test_old_touchpoints_from_a_history_import_trigger_nothing(django_capture_on_commit_callbacks):
    FollowUpRuleFactory()
    record(
        consenting_customer(),
        capture=django_capture_on_commit_callbacks,
        amount=10,
        occurred_at=timezone.now() - dt.timedelta(days=30),
    )
    assert FollowUp.objects.count() == 0


def test_entering_a_stage_schedules_a_follow_up(django_capture_on_commit_callbacks):
    rule = FollowUpRuleFactory(
        trigger="stage", trigger_type=None, trigger_stage="decision", delay_amount=2, delay_unit="hours"
    )
    customer = consenting_customer()
    record(customer, slug="price-value", capture=django_capture_on_commit_callbacks)

    followup = FollowUp.objects.get()
    assert followup.rule == rule and followup.trigger_key.startswith("stage:")


def test_a_rule_does_not_trigger_on_its_own_mail(django_capture_on_commit_callbacks):
    rule = FollowUpRuleFactory(trigger_type=TouchpointTypeFactory(slug="follow-up-email"), delay_amount=0)
    customer = consenting_customer()
    with django_capture_on_commit_callbacks(execute=True):
        touchpoint_create(customer, "follow-up-email", metadata={"rule": rule.pk})
    assert FollowUp.objects.count() == 0


# --- Dispatching ----------------------------------------------------------------------------------


def due_followup(rule, customer, *, at=None, key="tp:1", touchpoint=None):
    at = at or timezone.now() - dt.timedelta(days=1)
    return FollowUp.objects.create(
        rule=rule, customer=customer, trigger_key=key, triggered_at=at, due_at=at, touchpoint=touchpoint
    )


def test_dispatch_queues_the_message_and_a_second_run_changes_nothing(published, django_capture_on_commit_callbacks):
    rule = FollowUpRuleFactory()
    followup = due_followup(rule, consenting_customer())

    with django_capture_on_commit_callbacks(execute=True):
        first = rules.followups_dispatch()
    with django_capture_on_commit_callbacks(execute=True):
        second = rules.followups_dispatch()

    followup.refresh_from_db()
    message = OutboundMessage.objects.get()
    assert (first.followups, first.messages, second.followups) == (1, 1, 0)
    assert followup.status == FollowUp.Status.DONE and followup.outcome == Outcome.MESSAGE
    assert message.key == f"followup:{followup.pk}" and message.followup == followup
    assert message.source_ref == f"rule:{rule.pk}" and message.status == OutboundMessage.Status.QUEUED
    assert published == [message.pk]


def test_dispatch_leaves_follow_ups_not_yet_due():
    rule = FollowUpRuleFactory()
    FollowUp.objects.create(
        rule=rule,
        customer=consenting_customer(),
        trigger_key="tp:9",
        triggered_at=timezone.now(),
        due_at=timezone.now() + dt.timedelta(hours=1),
    )
    assert rules.followups_dispatch().followups == 0


def test_a_purchase_meanwhile_cancels_the_follow_up_but_the_triggering_one_does_not(
    published, django_capture_on_commit_callbacks
):
    rule = FollowUpRuleFactory(delay_amount=0)
    bought_again = consenting_customer()
    bought_once = consenting_customer(email="once@example.com")
    first = record(bought_again, capture=django_capture_on_commit_callbacks, amount=10)
    record(bought_once, capture=django_capture_on_commit_callbacks, amount=10)
    record(bought_again, capture=django_capture_on_commit_callbacks, amount=20)  # a second purchase: its own trigger

    rules.followups_dispatch(now=timezone.now() + dt.timedelta(seconds=1))

    outcomes = {(f.customer_id, f.touchpoint_id): f.outcome for f in FollowUp.objects.all()}
    assert outcomes[(bought_again.pk, first.pk)] == Outcome.PURCHASED
    assert list(outcomes.values()).count(Outcome.MESSAGE) == 2
    assert FollowUp.objects.get(rule=rule, touchpoint=first).status == FollowUp.Status.CANCELLED


def test_conditions_are_checked_when_the_follow_up_falls_due(published):
    segment = Segment.objects.create(name="Tokyo", rules={"language": "ja"})
    in_segment = consenting_customer(preferred_language="ja")
    outside = consenting_customer(email="en@example.com", preferred_language="en")
    rule = FollowUpRuleFactory(condition_segment=segment)
    due_followup(rule, in_segment, key="a")
    due_followup(rule, outside, key="b")
    staged = FollowUpRuleFactory(condition_stages=["retention"])
    due_followup(staged, in_segment, key="c")  # no journey yet
    consent = FollowUpRuleFactory(action="task", template=None, task_title="Call", condition_consent=True)
    no_consent = consenting_customer(email="nc@example.com", marketing_consent=False)
    due_followup(consent, no_consent, key="d")

    rules.followups_dispatch()

    outcome = {f.trigger_key: f.outcome for f in FollowUp.objects.all()}
    assert outcome == {"a": Outcome.MESSAGE, "b": Outcome.CONDITIONS, "c": Outcome.CONDITIONS, "d": Outcome.CONDITIONS}


def test_the_frequency_cap_skips_a_second_marketing_message(published):
    customer = consenting_customer()
    outbox.message_enqueue(
        customer=customer,
        key="earlier",
        purpose="marketing",
        body="Hi {unsubscribe_url}",
        now=timezone.now() - dt.timedelta(days=2),
    )
    capped = FollowUpRuleFactory(cap_days=7)
    uncapped = FollowUpRuleFactory(cap_days=1)
    due_followup(capped, customer, key="x")
    due_followup(uncapped, customer, key="y")

    report = rules.followups_dispatch()

    by_rule = {f.rule_id: f for f in FollowUp.objects.select_related("rule")}
    message = OutboundMessage.objects.get(followup=by_rule[capped.pk])
    assert report.capped == 1 and by_rule[capped.pk].outcome == Outcome.CAPPED
    assert (message.status, message.skip_reason) == ("skipped", "capped")
    assert by_rule[uncapped.pk].outcome == Outcome.MESSAGE


def test_the_cap_holds_within_one_dispatch(published):
    customer = consenting_customer()
    for i in range(3):
        due_followup(FollowUpRuleFactory(cap_days=7), customer, key=f"k{i}")
    report = rules.followups_dispatch()
    assert (report.messages, report.capped) == (1, 2)


def test_transactional_templates_are_not_capped(published):
    customer = consenting_customer()
    template = MessageTemplateFactory(purpose="transactional")
    for i in range(2):
        due_followup(FollowUpRuleFactory(cap_days=7, template=template), customer, key=f"t{i}")
    assert rules.followups_dispatch().messages == 2


def test_a_task_rule_creates_a_task_for_the_owner_or_the_team(manager, support):
    owned = consenting_customer(owner=manager)
    team = Group.objects.get(name="Support")
    to_owner = FollowUpRuleFactory(action="task", template=None, task_title="Call to say thanks")
    to_team = FollowUpRuleFactory(
        action="task", template=None, task_title="Check in", assign_to="group", assign_group=team
    )
    due_followup(to_owner, owned, key="o")
    due_followup(to_team, owned, key="t")

    rules.followups_dispatch()
    rules.followups_dispatch()

    tasks = {t.title: t for t in StaffTask.objects.all()}
    assert len(tasks) == 2
    assert tasks["Call to say thanks"].assignee == manager and tasks["Call to say thanks"].channel == "phone"
    assert tasks["Check in"].assignee is None and tasks["Check in"].group == team
    assert list(StaffTask.objects.for_user(support, "team")) == [tasks["Check in"]]
    assert list(StaffTask.objects.for_user(manager, "mine")) == [tasks["Call to say thanks"]]


def test_a_rule_switched_off_cancels_its_due_follow_ups(published):
    rule = FollowUpRuleFactory()
    due_followup(rule, consenting_customer())
    FollowUpRule.objects.filter(pk=rule.pk).update(is_active=False)
    assert rules.followups_dispatch().cancelled == 1
    assert OutboundMessage.objects.count() == 0


def test_a_line_template_becomes_a_staff_task_for_the_owner(published, manager):
    rule = FollowUpRuleFactory(template=MessageTemplateFactory(channel="line", purpose="transactional"))
    due_followup(rule, consenting_customer(owner=manager))
    rules.followups_dispatch()
    message = OutboundMessage.objects.get()
    assert message.skip_reason == "staff_task" and message.task.assignee == manager
    assert published == []


# --- Inactive customers ---------------------------------------------------------------------------


def test_inactive_customers_are_scheduled_once_as_they_cross_the_line(published):
    now = timezone.now()
    rule = FollowUpRuleFactory(trigger="inactive", trigger_type=None, inactive_days=30, delay_amount=0)
    crossed = consenting_customer(email="crossed@example.com")
    recent = consenting_customer(email="recent@example.com")
    long_ago = consenting_customer(email="long@example.com")
    activity_set(crossed, now - dt.timedelta(days=30, hours=2))
    activity_set(recent, now - dt.timedelta(days=3))
    activity_set(long_ago, now - dt.timedelta(days=400))

    first = rules.inactive_followups_schedule(now=now)
    second = rules.inactive_followups_schedule(now=now + dt.timedelta(hours=1))
    tomorrow = rules.inactive_followups_schedule(now=now + dt.timedelta(days=1))

    assert (first, second, tomorrow) == (1, 0, 0)
    followup = FollowUp.objects.get()
    assert followup.customer == crossed and followup.rule == rule
    CustomerActivity.objects.filter(customer_id=crossed.pk).update(
        last_activity_at=now
    )  # back before the mail went out
    assert rules.followups_dispatch(now=now).cancelled == 1


def test_the_inactive_scan_pages_through_many_customers(published):
    now = timezone.now()
    FollowUpRuleFactory(trigger="inactive", trigger_type=None, inactive_days=10)
    customers = [consenting_customer(email=f"idle{i}@example.com") for i in range(7)]
    same_time = now - dt.timedelta(days=10, hours=1)
    CustomerActivity.objects.filter(customer_id__in=[c.pk for c in customers]).update(last_activity_at=same_time)
    assert rules.inactive_followups_schedule(now=now, chunk=3) == 7
    assert FollowUp.objects.count() == 7


# --- Staff tasks ----------------------------------------------------------------------------------


def test_completing_a_task_logs_the_touchpoint_once(support):
    customer = consenting_customer()
    task = rules.task_create(customer=customer, title="Call", due_at=timezone.now(), by=support, assignee=support)
    call = TouchpointType.objects.get(slug="support")

    rules.task_complete(task=task, by=support, touchpoint_type=call, summary="Happy with the order")

    task.refresh_from_db()
    touchpoint = Touchpoint.objects.get(customer=customer)
    assert task.status == "done" and task.done_by == support and task.touchpoint == touchpoint
    assert (touchpoint.channel, touchpoint.direction, touchpoint.summary) == (
        "phone",
        "outbound",
        "Happy with the order",
    )
    with pytest.raises(ValidationError):
        rules.task_complete(task=task, by=support, touchpoint_type=call)
    assert Touchpoint.objects.count() == 1


def test_snoozing_and_reassigning_a_task(support, manager):
    task = rules.task_create(
        customer=consenting_customer(), title="Call", due_at=timezone.now(), by=support, assignee=support
    )
    later = timezone.now() + dt.timedelta(days=1)
    rules.task_snooze(task=task, until=later, by=support)
    rules.task_reassign(task=task, assignee=manager, by=support)
    task.refresh_from_db()
    assert task.due_at == later and task.assignee == manager
    with pytest.raises(ValidationError):
        rules.task_snooze(task=task, until=timezone.now() - dt.timedelta(hours=1), by=support)


def test_a_task_goes_only_to_someone_who_can_work_tasks(support, manager, marketing):
    from touchpoints.outreach.forms import TaskReassignForm

    task = rules.task_create(customer=consenting_customer(), title="Call", due_at=timezone.now(), by=support)
    offered = {user.username for user in TaskReassignForm().fields["assignee"].queryset}
    assert {"support", "manager"} <= offered and "marketing" not in offered  # marketing has no task list
    with pytest.raises(ValidationError, match="cannot work staff tasks"):
        rules.task_reassign(task=task, assignee=marketing, by=support)


# --- The journey's segment conditions --------------------------------------------------------------


def test_segments_filter_on_the_journey_stage_and_net_spend(django_capture_on_commit_callbacks):
    from decimal import Decimal

    from customers.segments import rules_q

    big = consenting_customer(email="big@example.com")
    small = consenting_customer(email="small@example.com")
    browsing = consenting_customer(email="browsing@example.com")
    touchpoint_create(big, "transaction", amount=Decimal("30000"))
    touchpoint_create(big, "return", amount=Decimal("5000"))
    touchpoint_create(small, "transaction", amount=Decimal("3000"))
    touchpoint_create(browsing, "research")

    def members(rules: dict) -> set[str]:
        return set(Customer.objects.filter(rules_q(rules)).values_list("email", flat=True))

    assert members({"stage": ["decision"]}) == {"big@example.com", "small@example.com"}
    assert members({"stage": ["consideration"]}) == {"browsing@example.com"}
    assert members({"spend_at_least": "25000"}) == {"big@example.com"}
    assert members({"spend_at_least": "26000"}) == set()  # returns count against the spend
    assert members({"stage": ["decision"], "spend_at_least": "1000"}) == {"big@example.com", "small@example.com"}


def test_a_delay_is_at_most_a_year_and_an_old_overlong_one_stops_only_its_rule(django_capture_on_commit_callbacks):
    template = MessageTemplateFactory()
    with pytest.raises(ValidationError, match="at most a year"):
        rules.rule_save(rule=FollowUpRuleFactory.build(template=template, delay_amount=999_999_999), by=None)
    rules.rule_save(rule=FollowUpRuleFactory.build(template=template, delay_amount=366), by=None)
    # a rule saved before the limit (written directly) no longer stops the others on the same trigger
    FollowUpRuleFactory(delay_amount=2_147_483_647)
    sound = FollowUpRuleFactory(delay_amount=1)
    customer = consenting_customer()
    record(customer, capture=django_capture_on_commit_callbacks, amount=1000)
    assert FollowUp.objects.filter(rule=sound, customer=customer).count() == 1


def test_a_task_title_names_the_customer(published, django_capture_on_commit_callbacks):
    rule = FollowUpRuleFactory(action="task", template=None, task_title="Call {customer_name} back")
    customer = consenting_customer(family_name="山田", given_name="花子")
    record(customer, capture=django_capture_on_commit_callbacks, amount=1000)
    FollowUp.objects.filter(rule=rule).update(due_at=timezone.now())
    rules.followups_dispatch()
    assert StaffTask.objects.get(customer=customer).title == f"Call {customer.display_name} back"


def test_the_rule_form_names_each_mistake_once():
    from touchpoints.outreach.forms import FollowUpRuleForm

    form = FollowUpRuleForm({"name": "Lapsed", "trigger": "inactive", "inactive_days": "0", "action": "task"})
    assert not form.is_valid() and form.errors["inactive_days"] == ["At least one day."]
    form = FollowUpRuleForm(
        {"name": "x", "trigger": "inactive", "inactive_days": "30", "action": "task", "task_title": "Call {nobody}"}
    )
    assert not form.is_valid() and "{nobody}" in form.errors["task_title"][0]
