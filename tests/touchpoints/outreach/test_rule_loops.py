"""A rule never feeds itself: "support touchpoint -> task for support" fired again when the task was done (which
logged the same kind of touchpoint), and on the system's own entries, leaving duplicate open tasks. Closing a
rule's task records the rule as the touchpoint's origin; mail sent is the system's; and a customer gets at most
one open task per rule, and a few in all."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tests.factories import FollowUpRuleFactory, consenting_customer, touchpoint_create
from touchpoints.models import TouchpointType
from touchpoints.outreach import rules
from touchpoints.outreach.models import FollowUp, StaffTask

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rules():
    rules.rules_changed()
    yield
    rules.rules_changed()


def _support_rule(**kwargs):
    support = TouchpointType.objects.get(slug="support")
    return FollowUpRuleFactory(
        trigger_type=support, delay_amount=0, action="task", template=None, task_title="Look after them", **kwargs
    )


def _dispatch_later():
    return rules.followups_dispatch(now=timezone.now() + dt.timedelta(minutes=1))


def test_closing_a_rules_task_with_the_same_touchpoint_does_not_fire_the_rule_again(
    support, django_capture_on_commit_callbacks
):
    # given: the rule, and a support touchpoint that fires it once
    _support_rule()
    customer = consenting_customer()
    with django_capture_on_commit_callbacks(execute=True):
        touchpoint_create(customer, "support")
    _dispatch_later()
    task = StaffTask.objects.get()

    # when: support closes the task, logging what they did as a support touchpoint
    with django_capture_on_commit_callbacks(execute=True):
        done = rules.task_complete(task=task, by=support, touchpoint_type=TouchpointType.objects.get(slug="support"))
    _dispatch_later()

    # then: no second follow-up, no new task; the touchpoint names the rule as its origin
    assert FollowUp.objects.count() == 1
    assert StaffTask.objects.count() == 1 and StaffTask.objects.get().status == "done"
    assert done.touchpoint.metadata["origin"] == "rule"


def test_a_second_rule_does_not_fire_on_what_a_rule_produced_either(support, django_capture_on_commit_callbacks):
    first = _support_rule()
    _support_rule(name="Another")
    customer = consenting_customer()
    with django_capture_on_commit_callbacks(execute=True):
        touchpoint_create(customer, "support")
    _dispatch_later()
    task = StaffTask.objects.filter(followup__rule=first).get()

    with django_capture_on_commit_callbacks(execute=True):
        rules.task_complete(task=task, by=support, touchpoint_type=TouchpointType.objects.get(slug="support"))

    assert FollowUp.objects.count() == 2  # the two from the customer's own touchpoint, none from the rule's


def test_a_touchpoint_staff_log_by_hand_still_fires_rules(support, django_capture_on_commit_callbacks):
    _support_rule()
    customer = consenting_customer()
    manual = rules.task_create(customer=customer, title="Call", due_at=timezone.now(), by=support, assignee=support)

    with django_capture_on_commit_callbacks(execute=True):
        rules.task_complete(task=manual, by=support, touchpoint_type=TouchpointType.objects.get(slug="support"))

    assert FollowUp.objects.count() == 1


def test_a_customer_gets_one_open_task_per_rule_and_a_few_in_all(settings, django_capture_on_commit_callbacks):
    settings.TSUNAGU_OPEN_TASKS_PER_CUSTOMER = 2
    _support_rule()
    _support_rule(name="Second")
    _support_rule(name="Third")
    customer = consenting_customer()

    with django_capture_on_commit_callbacks(execute=True):
        touchpoint_create(customer, "support")
        touchpoint_create(customer, "support")  # a second complaint while the first task is open
    report = _dispatch_later()

    open_tasks = StaffTask.objects.filter(customer=customer, status="open")
    assert open_tasks.count() == 2
    assert len({t.followup.rule_id for t in open_tasks}) == 2
    assert report.capped == 4 and FollowUp.objects.filter(outcome="task_capped").count() == 4


# --- Stage-change rules: the same protection (a rule never fires on what a rule or the system produced) -----------


def _stage_rule(stage: str = "retention", **kwargs):
    return FollowUpRuleFactory(
        trigger="stage",
        trigger_type=None,
        trigger_stage=stage,
        delay_amount=0,
        action="task",
        template=None,
        task_title="Welcome them in",
        **kwargs,
    )


def _in_decision_stage():
    customer = consenting_customer()
    touchpoint_create(customer, "transaction")  # decision
    return customer


def test_a_stage_change_a_rules_task_produced_does_not_fire_stage_rules(support, django_capture_on_commit_callbacks):
    # given: a rule's task open for a customer in the decision stage, and a rule on entering retention
    _support_rule()
    customer = _in_decision_stage()
    with django_capture_on_commit_callbacks(execute=True):
        touchpoint_create(customer, "support")
    _dispatch_later()
    task = StaffTask.objects.get()
    _stage_rule()
    rules.rules_changed()

    # when: support closes the rule's task logging a retention-stage touchpoint (it moves the customer on)
    with django_capture_on_commit_callbacks(execute=True):
        done = rules.task_complete(
            task=task, by=support, touchpoint_type=TouchpointType.objects.get(slug="feedback-request")
        )

    # then: the customer is in retention, and the stage rule did not fire on what the rule produced
    assert done.touchpoint.stage_transitions.get().to_stage == "retention"
    assert FollowUp.objects.filter(rule__trigger="stage").count() == 0


def test_a_stage_change_the_system_produced_does_not_fire_stage_rules(django_capture_on_commit_callbacks):
    _stage_rule()
    customer = _in_decision_stage()

    with django_capture_on_commit_callbacks(execute=True):
        touchpoint_create(customer, "feedback-request", metadata={"origin": "system"})

    assert FollowUp.objects.count() == 0


def test_a_stage_change_the_customer_made_or_staff_made_by_hand_fires_stage_rules(
    manager, django_capture_on_commit_callbacks
):
    from touchpoints.services import journey_stage_move

    _stage_rule()
    _stage_rule(stage="consideration", name="Moved back")
    customer = _in_decision_stage()

    with django_capture_on_commit_callbacks(execute=True):
        touchpoint_create(customer, "feedback-request")  # the customer answered: retention
    with django_capture_on_commit_callbacks(execute=True):
        journey_stage_move(customer=customer, to_stage="consideration", reason="Asked for a refund", by=manager)

    assert FollowUp.objects.count() == 2


def test_stage_rules_tasks_are_capped_like_the_others(settings, django_capture_on_commit_callbacks):
    settings.TSUNAGU_OPEN_TASKS_PER_CUSTOMER = 1
    _support_rule()
    _stage_rule()
    customer = _in_decision_stage()
    with django_capture_on_commit_callbacks(execute=True):
        touchpoint_create(customer, "support")
        touchpoint_create(customer, "feedback-request")  # retention

    report = _dispatch_later()

    assert StaffTask.objects.filter(customer=customer, status="open").count() == 1
    assert report.capped == 1 and FollowUp.objects.filter(outcome="task_capped").count() == 1
