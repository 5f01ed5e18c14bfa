"""Follow-up rules: triggers schedule follow-ups, the dispatcher turns due ones into messages or staff tasks.

- **Triggers** schedule a ``FollowUp`` row (due at trigger time + the rule's delay), unique per
  ``(rule, trigger key)`` so a trigger never schedules twice: a touchpoint of a type is recorded
  (``tp:<touchpoint id>``), a customer enters a stage (``stage:<transition id>``), or a customer has had
  no touchpoint for N days (``inactive:<customer id>:<last activity>``, found by a daily index scan).
- **The dispatcher** (``followups_dispatch``, every tick) claims due rows with
  ``SELECT … FOR UPDATE SKIP LOCKED`` in chunks and, in the same transaction, decides each one:
  cancelled (the rule was switched off, the customer bought meanwhile, the conditions no longer
  hold) or done (a message in the outbox, possibly skipped for the frequency cap, or a staff task).
  Two dispatchers at once take disjoint rows; a second run finds nothing due.
- **Staff tasks**: complete (logging the touchpoint), reassign, snooze.

Conditions are evaluated when the follow-up falls due, on the customer as they are then.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Customer, CustomerActivity
from touchpoints.models import CustomerJourney, Direction, StageTransition, Touchpoint, TouchpointType
from touchpoints.services import touchpoint_record

from . import placeholders
from .models import FollowUp, FollowUpRule, OutboundMessage, Purpose, StaffTask
from .outbox import may_send_service_messages, message_build, messages_insert, publish_on_commit

logger = logging.getLogger(__name__)

Trigger = FollowUpRule.Trigger
Outcome = FollowUp.Outcome

# A touchpoint that happened longer than this before it was recorded (a history import) triggers nothing.
TRIGGER_MAX_AGE = dt.timedelta(days=2)
# What a touchpoint's ``metadata["origin"]`` says when no customer or staff member made it happen: a rule's own
# action (a task it opened, then closed with a call logged; the mail it sent) or the system. No rule fires on
# those, so "support touchpoint -> task for support" cannot feed itself.
MACHINE_ORIGINS = ("rule", "system")
# At most this many open staff tasks per customer from rules (TSUNAGU_OPEN_TASKS_PER_CUSTOMER), and never two
# open from the same rule: staff work the one they have.
OPEN_TASKS_PER_CUSTOMER = 3
DISPATCH_CHUNK = 500
DISPATCH_MAX = 100_000
INACTIVE_CHUNK = 2000
RULES_TTL = 5.0  # seconds a process keeps its list of active rules (saving a rule here clears it)

# --- Rules ----------------------------------------------------------------------------------------

_rules_cache: dict[str, Any] = {"at": 0.0, "rules": None}


def rules_changed() -> None:
    _rules_cache["rules"] = None


def active_rules() -> list[FollowUpRule]:
    """The active event-triggered rules, read at most every few seconds (every touchpoint asks)."""
    rules = _rules_cache["rules"]
    if rules is None or time.monotonic() - _rules_cache["at"] > RULES_TTL:
        rules = list(FollowUpRule.objects.filter(is_active=True, trigger__in=[Trigger.TOUCHPOINT, Trigger.STAGE]))
        _rules_cache.update(at=time.monotonic(), rules=rules)
    return rules


@transaction.atomic
def rule_save(*, rule: FollowUpRule, by: AbstractBaseUser | None = None) -> FollowUpRule:
    """Create or edit a rule (the form checked the fields). Follow-ups already scheduled keep their due time."""
    if rule.trigger != Trigger.TOUCHPOINT:
        rule.trigger_type = None
    if rule.trigger != Trigger.STAGE:
        rule.trigger_stage = ""
    if rule.trigger != Trigger.INACTIVE:
        rule.inactive_days = None
    if rule.action != FollowUpRule.Action.SEND:
        rule.template = None
    if rule.action != FollowUpRule.Action.TASK:
        rule.task_title = ""
    if rule.assign_to != FollowUpRule.AssignTo.GROUP:
        rule.assign_group = None
    if rule.pk is None and by is not None:
        rule.created_by = by
    template = rule.template if rule.action == FollowUpRule.Action.SEND else None
    if template is not None:
        kept = rule.pk is not None and FollowUpRule.objects.filter(pk=rule.pk, template=template).exists()
        if template.purpose == Purpose.TRANSACTIONAL and not kept and not may_send_service_messages(by):
            # Choosing one is a manager's call; others may still pause or rename a rule a manager set up.
            raise ValidationError({"template": _("Only a manager may have a rule send a service message.")})
        if placeholders.needs_context(template):
            raise ValidationError(
                {"template": _("This template needs details a rule does not have (a ticket or a survey).")}
            )
    rule.full_clean(exclude=["created_by", "inactive_scanned_until"])
    rule.save()
    transaction.on_commit(rules_changed)
    rules_changed()
    logger.info("follow-up rule saved id=%s by=%s", rule.pk, getattr(by, "pk", None))
    return rule


# --- Scheduling -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Triggered:
    rule: FollowUpRule
    customer_id: int
    key: str
    at: dt.datetime
    touchpoint_id: int | None = None


def _due(trigger: Triggered, now: dt.datetime) -> dt.datetime | None:
    try:
        return max(trigger.at + trigger.rule.delay, now)
    except (OverflowError, ValueError):  # a delay saved before rules were held to a year: that rule alone is skipped
        logger.error("follow-up rule %s: its delay cannot be scheduled", trigger.rule.pk)
        return None


def _schedule(triggers: Iterable[Triggered], *, now: dt.datetime) -> int:
    rows = [
        FollowUp(
            rule=t.rule,
            customer_id=t.customer_id,
            trigger_key=t.key,
            triggered_at=t.at,
            touchpoint_id=t.touchpoint_id,
            due_at=due,
            created_at=now,
        )
        for t in triggers
        if (due := _due(t, now)) is not None
    ]
    if rows:
        FollowUp.objects.bulk_create(rows, ignore_conflicts=True)  # (rule, trigger_key) is unique
    return len(rows)


def followups_schedule_for_touchpoint(*, touchpoint: Touchpoint, now: dt.datetime | None = None) -> int:
    """Schedule the follow-ups of the rules this touchpoint triggers (a rule never triggers on its own mail)."""
    now = now or timezone.now()
    if touchpoint.occurred_at < now - TRIGGER_MAX_AGE:
        return 0
    metadata = touchpoint.metadata or {}
    if metadata.get("origin") in MACHINE_ORIGINS:
        return 0
    own_rule = metadata.get("rule")
    triggers = [
        Triggered(rule, touchpoint.customer_id, f"tp:{touchpoint.pk}", touchpoint.occurred_at, touchpoint.pk)
        for rule in active_rules()
        if rule.trigger == Trigger.TOUCHPOINT and rule.trigger_type_id == touchpoint.type_id and rule.pk != own_rule
    ]
    return _schedule(triggers, now=now)


def followups_schedule_for_transition(*, transition: StageTransition, now: dt.datetime | None = None) -> int:
    """Schedule the follow-ups of the rules on entering this stage; a stage change that a rule's own action or the
    system produced (its touchpoint's origin) fires none, as for touchpoint rules."""
    now = now or timezone.now()
    if transition.at < now - TRIGGER_MAX_AGE:
        return 0
    touchpoint = transition.touchpoint if transition.touchpoint_id else None  # cached by journeys_advance
    if touchpoint is not None and (touchpoint.metadata or {}).get("origin") in MACHINE_ORIGINS:
        return 0
    triggers = [
        Triggered(rule, transition.customer_id, f"stage:{transition.pk}", transition.at, transition.touchpoint_id)
        for rule in active_rules()
        if rule.trigger == Trigger.STAGE and rule.trigger_stage == transition.to_stage
    ]
    return _schedule(triggers, now=now)


def on_touchpoint_recorded(sender: Any, *, touchpoint: Touchpoint, **kwargs: Any) -> None:
    """touchpoints.events.touchpoint_recorded (after commit)."""
    followups_schedule_for_touchpoint(touchpoint=touchpoint)


def on_touchpoint_retracted(sender: Any, *, touchpoint_id: int, customer_id: int, **kwargs: Any) -> None:
    """touchpoints.events.touchpoint_retracted (after commit): the follow-ups it scheduled and not yet dispatched are
    cancelled (what they would do was asked for by something that did not happen)."""
    cancelled = FollowUp.objects.filter(
        trigger_key=f"tp:{touchpoint_id}", customer_id=customer_id, status=FollowUp.Status.SCHEDULED
    ).update(status=FollowUp.Status.CANCELLED, outcome=Outcome.CONDITIONS, dispatched_at=timezone.now())
    if cancelled:
        logger.info("follow-ups cancelled for a retracted touchpoint id=%s n=%d", touchpoint_id, cancelled)


def on_journey_stage_changed(sender: Any, *, transition: StageTransition, **kwargs: Any) -> None:
    """touchpoints.events.journey_stage_changed (after commit)."""
    followups_schedule_for_transition(transition=transition)


def inactive_followups_schedule(*, now: dt.datetime | None = None, chunk: int = INACTIVE_CHUNK) -> int:
    """Daily: for each "no touchpoint for N days" rule, schedule the customers who crossed the N-day line
    since the last scan. Reads ``customers.CustomerActivity`` through its index, in keyset chunks.

    A new rule starts with the last day's crossings (it does not mail everyone silent for years; that is
    a broadcast). Safe to run twice: the scan window moves on, and the trigger key is unique.
    """
    now = now or timezone.now()
    scheduled = 0
    for rule in FollowUpRule.objects.filter(is_active=True, trigger=Trigger.INACTIVE, inactive_days__gte=1):
        silence = dt.timedelta(days=rule.inactive_days)
        cutoff = now - silence
        since = rule.inactive_scanned_until or cutoff - dt.timedelta(days=1)
        if since >= cutoff:
            continue
        after: tuple[dt.datetime, int] | None = None
        while True:
            qs = CustomerActivity.objects.filter(last_activity_at__gte=since, last_activity_at__lt=cutoff)
            if after is not None:
                qs = qs.filter(
                    Q(last_activity_at__gt=after[0]) | Q(last_activity_at=after[0], customer_id__gt=after[1])
                )
            rows = list(
                qs.order_by("last_activity_at", "customer_id").values_list("customer_id", "last_activity_at")[:chunk]
            )
            if not rows:
                break
            with transaction.atomic():
                scheduled += _schedule(
                    (
                        Triggered(rule, pk, f"inactive:{pk}:{int(last.timestamp())}", last + silence)
                        for pk, last in rows
                    ),
                    now=now,
                )
            after = (rows[-1][1], rows[-1][0])
            if len(rows) < chunk:
                break
        FollowUpRule.objects.filter(pk=rule.pk).update(inactive_scanned_until=cutoff)
    if scheduled:
        logger.info("inactive follow-ups scheduled=%d", scheduled)
    return scheduled


# --- Dispatching ----------------------------------------------------------------------------------


@dataclass
class DispatchReport:
    followups: int = 0
    messages: int = 0
    tasks: int = 0
    cancelled: int = 0
    capped: int = 0
    published: int = 0


def followups_dispatch(
    *, now: dt.datetime | None = None, chunk: int | None = None, limit: int = DISPATCH_MAX
) -> DispatchReport:
    """Claim due follow-ups in chunks (skip locked) and settle each in the claiming transaction."""
    now = now or timezone.now()
    chunk = chunk or getattr(settings, "TSUNAGU_OUTREACH_DISPATCH_CHUNK", DISPATCH_CHUNK)
    report = DispatchReport()
    while report.followups < limit:
        with transaction.atomic():
            batch = list(
                FollowUp.objects.filter(status=FollowUp.Status.SCHEDULED, due_at__lte=now)
                .order_by("due_at", "id")
                .select_related("customer", "customer__activity")
                .defer("customer__search_text", "customer__name_sort")
                .select_for_update(skip_locked=True, of=("self",))[:chunk]
            )
            if not batch:
                break
            # A chunk has few rules: read them once rather than once per row.
            rules = FollowUpRule.objects.select_related("template", "condition_segment").in_bulk(
                {f.rule_id for f in batch}
            )
            for followup in batch:
                followup.rule = rules[followup.rule_id]
            publish_ids = _dispatch_chunk(batch, now=now, report=report)
            publish_on_commit(publish_ids)
            report.published += len(publish_ids)
        report.followups += len(batch)
        if len(batch) < chunk:
            break
    if report.followups:
        logger.info(
            "follow-ups dispatched=%d messages=%d tasks=%d cancelled=%d capped=%d",
            report.followups,
            report.messages,
            report.tasks,
            report.cancelled,
            report.capped,
        )
    return report


def _purchased_meanwhile(batch: list[FollowUp]) -> set[int]:
    """Follow-ups whose customer bought after the trigger (the triggering purchase itself does not count)."""
    watched = [f for f in batch if f.rule.stop_if_purchased]
    if not watched:
        return set()
    purchase_types = list(TouchpointType.objects.filter(kind=TouchpointType.Kind.PURCHASE).values_list("pk", flat=True))
    if not purchase_types:
        return set()
    purchases: dict[int, list[tuple[int, dt.datetime]]] = defaultdict(list)
    rows = Touchpoint.objects.filter(
        customer_id__in={f.customer_id for f in watched},
        type_id__in=purchase_types,
        occurred_at__gt=min(f.triggered_at for f in watched),
    ).values_list("customer_id", "pk", "occurred_at")
    for customer_id, pk, at in rows:
        purchases[customer_id].append((pk, at))
    return {
        f.pk
        for f in watched
        if any(at > f.triggered_at and pk != f.touchpoint_id for pk, at in purchases[f.customer_id])
    }


def _conditions_fail(batch: list[FollowUp]) -> set[int]:
    """Follow-ups whose customer no longer meets the rule's conditions (segment, stage, consent, silence)."""
    failing: set[int] = set()
    by_segment: dict[int, list[FollowUp]] = defaultdict(list)
    for f in batch:
        rule, customer = f.rule, f.customer
        if rule.condition_consent and not (customer.marketing_consent and not customer.do_not_contact):
            failing.add(f.pk)
        elif rule.trigger == Trigger.INACTIVE and customer.last_activity_at > f.triggered_at - dt.timedelta(
            days=rule.inactive_days or 0
        ) + dt.timedelta(seconds=1):
            failing.add(f.pk)  # active again since
        elif rule.condition_segment_id:
            by_segment[rule.condition_segment_id].append(f)
    for followups in by_segment.values():
        segment = followups[0].rule.condition_segment
        members = set(
            Customer.objects.in_segment(segment)
            .filter(pk__in={f.customer_id for f in followups})
            .values_list("pk", flat=True)
        )
        failing.update(f.pk for f in followups if f.customer_id not in members)
    staged = [f for f in batch if f.rule.condition_stages and f.pk not in failing]
    if staged:
        stages = dict(
            CustomerJourney.objects.filter(customer_id__in={f.customer_id for f in staged}).values_list(
                "customer_id", "stage"
            )
        )
        failing.update(f.pk for f in staged if stages.get(f.customer_id) not in f.rule.condition_stages)
    return failing


def _recent_marketing(customer_ids: set[int], *, days: int, now: dt.datetime) -> dict[int, dt.datetime]:
    """The latest marketing message (queued, sending or sent) of each customer within ``days``."""
    if not customer_ids or days <= 0:
        return {}
    latest: dict[int, dt.datetime] = {}
    rows = OutboundMessage.objects.filter(
        customer_id__in=customer_ids,
        purpose=Purpose.MARKETING,
        status__in=[OutboundMessage.Status.QUEUED, OutboundMessage.Status.SENDING, OutboundMessage.Status.SENT],
        created_at__gte=now - dt.timedelta(days=days),
    ).values_list("customer_id", "created_at")
    for customer_id, at in rows:
        if customer_id not in latest or at > latest[customer_id]:
            latest[customer_id] = at
    return latest


def _open_tasks(customer_ids: set[int]) -> tuple[dict[int, int], set[tuple[int, int]]]:
    """Open staff tasks of these customers: how many each has, and the (customer, rule) pairs already open."""
    if not customer_ids:
        return {}, set()
    counts: dict[int, int] = defaultdict(int)
    pairs: set[tuple[int, int]] = set()
    rows = StaffTask.objects.filter(customer_id__in=customer_ids, status=StaffTask.Status.OPEN).values_list(
        "customer_id", "followup__rule_id"
    )
    for customer_id, rule_id in rows:
        counts[customer_id] += 1
        if rule_id is not None:
            pairs.add((customer_id, rule_id))
    return dict(counts), pairs


def _dispatch_chunk(batch: list[FollowUp], *, now: dt.datetime, report: DispatchReport) -> list[int]:
    outcomes: dict[int, str] = {}
    for f in batch:
        rule = f.rule
        if not rule.is_active or (rule.action == FollowUpRule.Action.SEND and rule.template is None):
            outcomes[f.pk] = Outcome.RULE_OFF
    live = [f for f in batch if f.pk not in outcomes]
    for pk in _purchased_meanwhile(live):
        outcomes[pk] = Outcome.PURCHASED
    live = [f for f in live if f.pk not in outcomes]
    for pk in _conditions_fail(live):
        outcomes[pk] = Outcome.CONDITIONS
    live = [f for f in live if f.pk not in outcomes]

    marketing = [
        f for f in live if f.rule.action == FollowUpRule.Action.SEND and f.rule.template.purpose == Purpose.MARKETING
    ]
    cap_days = max((f.rule.cap_days for f in marketing), default=0)
    recent = _recent_marketing({f.customer_id for f in marketing if f.rule.cap_days}, days=cap_days, now=now)
    messages: list[OutboundMessage] = []
    tasks: list[StaffTask] = []
    open_count, open_from_rule = _open_tasks({f.customer_id for f in live if f.rule.action == FollowUpRule.Action.TASK})
    task_cap = getattr(settings, "TSUNAGU_OPEN_TASKS_PER_CUSTOMER", OPEN_TASKS_PER_CUSTOMER)
    for f in live:
        rule = f.rule
        if rule.action == FollowUpRule.Action.SEND:
            is_marketing = rule.template.purpose == Purpose.MARKETING
            last = recent.get(f.customer_id)
            capped = bool(
                is_marketing and rule.cap_days and last is not None and last >= now - dt.timedelta(days=rule.cap_days)
            )
            message = message_build(
                customer=f.customer,
                key=f"followup:{f.pk}",
                purpose=rule.template.purpose,
                template=rule.template,
                now=now,
                source_app="touchpoints",
                source_ref=f"rule:{rule.pk}",
                capped=capped,
                followup_id=f.pk,
            )
            messages.append(message)
            if capped:
                outcomes[f.pk] = Outcome.CAPPED
            else:
                outcomes[f.pk] = Outcome.MESSAGE
                if is_marketing and message.status == OutboundMessage.Status.QUEUED:
                    recent[f.customer_id] = now  # the cap holds within the chunk too
        elif (f.customer_id, rule.pk) in open_from_rule or open_count.get(f.customer_id, 0) >= task_cap:
            outcomes[f.pk] = Outcome.TASK_CAPPED
        else:
            open_count[f.customer_id] = open_count.get(f.customer_id, 0) + 1
            open_from_rule.add((f.customer_id, rule.pk))
            owner_id = f.customer.owner_id if rule.assign_to == FollowUpRule.AssignTo.OWNER else None
            tasks.append(
                StaffTask(
                    customer_id=f.customer_id,
                    # "Call {customer_name}" written for this customer, as staff read it (the site's language).
                    title=placeholders.render(rule.task_title, customer=f.customer, language=settings.LANGUAGE_CODE)[
                        :200
                    ],
                    note=rule.name,
                    channel=rule.task_channel,
                    assignee_id=owner_id,
                    group_id=rule.assign_group_id if rule.assign_to == FollowUpRule.AssignTo.GROUP else None,
                    due_at=now,
                    followup_id=f.pk,
                    created_at=now,
                    updated_at=now,
                )
            )
            outcomes[f.pk] = Outcome.TASK

    publish_ids = messages_insert(messages, now=now)
    if tasks:
        StaffTask.objects.bulk_create(tasks, ignore_conflicts=True)  # one task per follow-up (one-to-one)
    by_outcome: dict[str, list[int]] = defaultdict(list)
    for pk, outcome in outcomes.items():
        by_outcome[outcome].append(pk)
    done = {Outcome.MESSAGE, Outcome.TASK, Outcome.CAPPED, Outcome.TASK_CAPPED}
    for outcome, pks in by_outcome.items():
        FollowUp.objects.filter(pk__in=pks, status=FollowUp.Status.SCHEDULED).update(
            status=FollowUp.Status.DONE if outcome in done else FollowUp.Status.CANCELLED,
            outcome=outcome,
            dispatched_at=now,
        )
    report.messages += len(by_outcome.get(Outcome.MESSAGE, []))
    report.tasks += len(by_outcome.get(Outcome.TASK, []))
    report.capped += len(by_outcome.get(Outcome.CAPPED, [])) + len(by_outcome.get(Outcome.TASK_CAPPED, []))
    report.cancelled += sum(
        len(by_outcome.get(o, [])) for o in (Outcome.PURCHASED, Outcome.CONDITIONS, Outcome.RULE_OFF)
    )
    return publish_ids


@transaction.atomic
def followup_cancel(*, followup: FollowUp, by: AbstractBaseUser | None = None) -> bool:
    changed = FollowUp.objects.filter(pk=followup.pk, status=FollowUp.Status.SCHEDULED).update(
        status=FollowUp.Status.CANCELLED, outcome=Outcome.RULE_OFF, dispatched_at=timezone.now()
    )
    return bool(changed)


# --- Staff tasks ----------------------------------------------------------------------------------


def _open_task(task: StaffTask) -> StaffTask:
    locked = StaffTask.objects.select_for_update().select_related("customer").get(pk=task.pk)
    if locked.status != StaffTask.Status.OPEN:
        raise ValidationError(_("This task is already closed."))
    return locked


@transaction.atomic
def task_complete(
    *,
    task: StaffTask,
    by: AbstractBaseUser,
    touchpoint_type: TouchpointType | None = None,
    summary: str = "",
    now: dt.datetime | None = None,
) -> StaffTask:
    """Close the task; with a ``touchpoint_type`` also log what was done (a phone call…) on the timeline."""
    now = now or timezone.now()
    locked = _open_task(task)
    touchpoint = None
    if touchpoint_type is not None:
        # A task a rule opened carries the rule as the origin of what logging it records: no rule fires on it.
        rule_id = (
            FollowUp.objects.filter(pk=locked.followup_id).values_list("rule_id", flat=True).first()
            if locked.followup_id
            else None
        )
        origin = {"origin": "rule", "rule": rule_id} if rule_id else {}
        touchpoint = touchpoint_record(
            customer=locked.customer,
            touchpoint_type=touchpoint_type,
            channel=locked.channel,
            direction=Direction.OUTBOUND,
            summary=(summary or locked.title)[:1000],
            metadata={"staff_task": locked.pk, **origin},
            idempotency_key=f"task:{locked.pk}",
            by=by,
        )
    locked.status, locked.done_at, locked.done_by, locked.touchpoint = StaffTask.Status.DONE, now, by, touchpoint
    locked.save(update_fields=["status", "done_at", "done_by", "touchpoint", "updated_at"])
    logger.info("staff task done id=%s by=%s", locked.pk, getattr(by, "pk", None))
    return locked


@transaction.atomic
def task_reassign(*, task: StaffTask, assignee: AbstractBaseUser | None, by: AbstractBaseUser) -> StaffTask:
    if assignee is not None and not (assignee.is_active and assignee.has_perm("outreach.change_stafftask")):
        raise ValidationError({"assignee": _("This person cannot work staff tasks.")})
    locked = _open_task(task)
    locked.assignee = assignee
    locked.save(update_fields=["assignee", "updated_at"])
    logger.info("staff task reassigned id=%s to=%s by=%s", locked.pk, getattr(assignee, "pk", None), by.pk)
    return locked


@transaction.atomic
def task_snooze(
    *, task: StaffTask, until: dt.datetime, by: AbstractBaseUser, now: dt.datetime | None = None
) -> StaffTask:
    now = now or timezone.now()
    if until <= now:
        raise ValidationError({"until": _("Choose a time in the future.")})
    locked = _open_task(task)
    locked.due_at = until
    locked.save(update_fields=["due_at", "updated_at"])
    logger.info("staff task snoozed id=%s until=%s by=%s", locked.pk, until.isoformat(), by.pk)
    return locked


@transaction.atomic
def task_create(
    *,
    customer: Customer,
    title: str,
    due_at: dt.datetime,
    by: AbstractBaseUser | None,
    assignee: AbstractBaseUser | None = None,
    channel: str = "phone",
    note: str = "",
) -> StaffTask:
    title = " ".join((title or "").split())
    if not title:
        raise ValidationError({"title": _("Say what needs doing.")})
    if assignee is not None and not (assignee.is_active and assignee.has_perm("outreach.change_stafftask")):
        raise ValidationError({"assignee": _("This person cannot work staff tasks.")})
    task = StaffTask(customer=customer, title=title[:200], due_at=due_at, assignee=assignee, channel=channel, note=note)
    task.full_clean()
    task.save()
    logger.info("staff task created id=%s by=%s", task.pk, getattr(by, "pk", None))
    return task


BULK_TASKS_MAX = 5000  # a list larger than this is a broadcast's job, not a to-do list


@transaction.atomic
def tasks_create_for_customers(
    *,
    customer_ids: list[int],
    title: str,
    due_at: dt.datetime,
    by: AbstractBaseUser | None,
    assignee: AbstractBaseUser | None = None,
    channel: str = "phone",
) -> int:
    """One task per customer of a list (a figure's customers, a segment). Idempotent: a customer who already has
    an open task of the same title gets none, so a second click (or a retried request) creates nothing.
    Returns how many tasks were created."""
    title = " ".join((title or "").split())[:200]
    if not title:
        raise ValidationError({"title": _("Say what needs doing.")})
    if assignee is not None and not (assignee.is_active and assignee.has_perm("outreach.change_stafftask")):
        raise ValidationError({"assignee": _("This person cannot work staff tasks.")})
    ids = sorted(set(customer_ids))
    if len(ids) > BULK_TASKS_MAX:
        raise ValidationError(
            _("That is %(n)d customers: tasks are for at most %(max)d at once.")
            % {"n": len(ids), "max": BULK_TASKS_MAX}
        )
    # Serialise two identical requests: the second waits, then sees the first one's tasks.
    customers = list(
        Customer.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk", flat=True)
    )
    taken = set(
        StaffTask.objects.filter(customer_id__in=customers, status=StaffTask.Status.OPEN, title=title).values_list(
            "customer_id", flat=True
        )
    )
    now = timezone.now()
    tasks = [
        StaffTask(
            customer_id=pk,
            title=title,
            channel=channel,
            assignee=assignee,
            due_at=due_at,
            created_at=now,
            updated_at=now,
        )
        for pk in customers
        if pk not in taken
    ]
    StaffTask.objects.bulk_create(tasks, batch_size=1000)
    logger.info(
        "staff tasks created for a list: %d new, %d already open, by=%s",
        len(tasks),
        len(taken),
        getattr(by, "pk", None),
    )
    return len(tasks)
