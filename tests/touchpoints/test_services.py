import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from customers.services import customer_merge
from tests.factories import CustomerFactory, UserFactory, activity_set, touchpoint_create
from touchpoints import events
from touchpoints.models import CustomerJourney, Stage, StageTransition, Touchpoint, TouchpointType
from touchpoints.services import (
    TouchpointBatchInvalid,
    TouchpointData,
    journey_stage_move,
    touchpoint_record,
    touchpoint_record_batch,
)

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def days_ago(n: float) -> dt.datetime:
    return NOW - dt.timedelta(days=n)


def type_(slug: str) -> TouchpointType:
    return TouchpointType.objects.get(slug=slug)


def test_catalogue_is_seeded_with_the_fifteen_classic_touchpoints_and_a_return():
    slugs = set(TouchpointType.objects.values_list("slug", flat=True))
    assert {
        "brand-exposure",
        "reputation",
        "pr",
        "research",
        "product-selection",
        "social-proof",
        "price-value",
        "transaction",
        "support",
        "feedback-request",
        "cross-sell",
        "social-engagement",
        "loyalty-activity",
        "survey",
        "follow-up-email",
    } <= slugs
    assert type_("transaction").kind == TouchpointType.Kind.PURCHASE
    assert type_("return").kind == TouchpointType.Kind.RETURN
    assert type_("follow-up-email").stage == Stage.RETENTION


def test_first_touchpoint_puts_the_customer_in_its_stage_and_touches_the_customer():
    # given a customer whose last activity was a month ago
    customer = CustomerFactory()
    activity_set(customer, days_ago(30))
    # when a research touchpoint is recorded yesterday
    touchpoint = touchpoint_create(customer, "research", occurred_at=days_ago(1), channel="web")
    # then the customer is in consideration since yesterday, with one transition
    journey = CustomerJourney.objects.get(customer=customer)
    assert journey.stage == Stage.CONSIDERATION
    assert journey.stage_since == days_ago(1)
    (transition,) = StageTransition.objects.filter(customer=customer)
    assert (transition.from_stage, transition.to_stage) == ("", Stage.CONSIDERATION)
    assert transition.touchpoint == touchpoint
    assert transition.channel == "web"
    assert touchpoint.stage == Stage.CONSIDERATION
    customer.refresh_from_db()
    assert customer.last_activity_at == days_ago(1)


def test_a_later_stage_advances_and_closes_the_previous_stay():
    customer = CustomerFactory()
    touchpoint_create(customer, "brand-exposure", occurred_at=days_ago(10))
    touchpoint_create(customer, "transaction", occurred_at=days_ago(4), amount=Decimal("12800"))
    journey = CustomerJourney.objects.get(customer=customer)
    assert journey.stage == Stage.DECISION
    first, second = StageTransition.objects.filter(customer=customer).order_by("at")
    assert (first.from_stage, first.to_stage, first.ended_at) == ("", Stage.AWARENESS, days_ago(4))
    assert (second.from_stage, second.to_stage, second.ended_at) == (Stage.AWARENESS, Stage.DECISION, None)


def test_an_earlier_stage_never_moves_the_customer_back():
    # given a customer in retention
    customer = CustomerFactory()
    touchpoint_create(customer, "follow-up-email", occurred_at=days_ago(3))
    # when an awareness touchpoint is recorded after it
    touchpoint_create(customer, "brand-exposure", occurred_at=days_ago(1))
    # then they stay in retention and no transition is written
    assert CustomerJourney.objects.get(customer=customer).stage == Stage.RETENTION
    assert StageTransition.objects.filter(customer=customer).count() == 1
    assert Touchpoint.objects.filter(customer=customer).count() == 2


def test_a_backdated_touchpoint_does_not_date_its_transition_before_the_current_stage():
    customer = CustomerFactory()
    touchpoint_create(customer, "brand-exposure", occurred_at=days_ago(2))
    touchpoint_create(customer, "research", occurred_at=days_ago(20))
    later = StageTransition.objects.get(customer=customer, to_stage=Stage.CONSIDERATION)
    assert later.at == days_ago(2)
    assert StageTransition.objects.get(customer=customer, to_stage=Stage.AWARENESS).ended_at == days_ago(2)


def test_manual_move_goes_back_with_a_reason_and_is_recorded():
    manager = UserFactory(username="mover")
    customer = CustomerFactory()
    touchpoint_create(customer, "transaction", occurred_at=days_ago(5))
    transition = journey_stage_move(
        customer=customer, to_stage=Stage.CONSIDERATION, reason="  Order  was cancelled ", by=manager
    )
    assert transition.is_manual
    assert transition.reason == "Order was cancelled"
    assert transition.by == manager
    assert (transition.from_stage, transition.to_stage) == (Stage.DECISION, Stage.CONSIDERATION)
    assert CustomerJourney.objects.get(customer=customer).stage == Stage.CONSIDERATION
    assert StageTransition.objects.get(customer=customer, to_stage=Stage.DECISION).ended_at == transition.at


def test_manual_move_needs_a_reason_and_a_different_stage():
    customer = CustomerFactory()
    touchpoint_create(customer, "research")
    with pytest.raises(ValidationError) as exc:
        journey_stage_move(customer=customer, to_stage=Stage.DECISION, reason="   ", by=None)
    assert "reason" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        journey_stage_move(customer=customer, to_stage=Stage.CONSIDERATION, reason="why not", by=None)
    assert "to_stage" in exc.value.message_dict
    with pytest.raises(ValidationError):
        journey_stage_move(customer=customer, to_stage="nirvana", reason="why not", by=None)
    assert StageTransition.objects.filter(customer=customer).count() == 1


def test_manual_move_puts_a_newcomer_in_the_journey():
    customer = CustomerFactory()
    journey_stage_move(customer=customer, to_stage=Stage.DECISION, reason="Signed at the fair", by=None)
    assert CustomerJourney.objects.get(customer=customer).stage == Stage.DECISION


def test_a_repeated_idempotency_key_returns_the_first_touchpoint_and_changes_nothing():
    customer = CustomerFactory()
    first = touchpoint_create(customer, "transaction", idempotency_key="order-1", amount=Decimal("5000"))
    assert first.replayed is False
    second = touchpoint_create(customer, "transaction", idempotency_key="order-1", amount=Decimal("5000"))
    assert second.pk == first.pk
    assert second.replayed is True
    assert Touchpoint.objects.count() == 1
    assert StageTransition.objects.count() == 1


def test_an_idempotency_key_reused_for_another_customer_is_refused():
    touchpoint_create(CustomerFactory(), "transaction", idempotency_key="order-1")
    with pytest.raises(ValidationError) as exc:
        touchpoint_create(CustomerFactory(), "transaction", idempotency_key="order-1")
    assert "idempotency_key" in exc.value.message_dict


def test_invalid_values_are_refused_per_field():
    customer = CustomerFactory()
    with pytest.raises(ValidationError) as exc:
        touchpoint_create(
            customer,
            "transaction",
            channel="pigeon",
            amount=Decimal("-1"),
            currency="yen",
            occurred_at=NOW + dt.timedelta(days=2),
            metadata={"a": "\x00"},
        )
    assert set(exc.value.message_dict) == {"channel", "amount", "currency", "occurred_at", "metadata"}
    assert not Touchpoint.objects.exists()


def test_inactive_types_cannot_be_recorded():
    TouchpointType.objects.filter(slug="pr").update(is_active=False)
    with pytest.raises(ValidationError) as exc:
        touchpoint_create(CustomerFactory(), "pr")
    assert "type" in exc.value.message_dict


def test_batch_records_in_order_and_advances_through_each_stage():
    customer = CustomerFactory()
    items = [
        TouchpointData(customer_id=customer.pk, touchpoint_type=type_("transaction"), occurred_at=days_ago(1)),
        TouchpointData(customer_id=customer.pk, touchpoint_type=type_("brand-exposure"), occurred_at=days_ago(9)),
        TouchpointData(customer_id=customer.pk, touchpoint_type=type_("research"), occurred_at=days_ago(5)),
    ]
    touchpoints = touchpoint_record_batch(items=items, source="import")
    assert [t.type.slug for t in touchpoints] == ["transaction", "brand-exposure", "research"]
    assert all(t.source == "import" for t in touchpoints)
    transitions = list(StageTransition.objects.filter(customer=customer).order_by("at"))
    assert [(t.from_stage, t.to_stage) for t in transitions] == [
        ("", "awareness"),
        ("awareness", "consideration"),
        ("consideration", "decision"),
    ]
    assert [t.ended_at for t in transitions] == [days_ago(5), days_ago(1), None]


def test_batch_with_a_bad_item_writes_nothing_and_names_it():
    good, gone = CustomerFactory(), CustomerFactory()
    gone_id = gone.pk
    gone.delete()
    items = [
        TouchpointData(customer_id=good.pk, touchpoint_type=type_("research")),
        TouchpointData(customer_id=good.pk, touchpoint_type=type_("research"), channel="fax"),
        TouchpointData(customer_id=good.pk, touchpoint_type=type_("research"), summary="x" * 1001),
    ]
    with pytest.raises(TouchpointBatchInvalid) as exc:
        touchpoint_record_batch(items=items)
    assert set(exc.value.errors) == {1, 2}
    assert "channel" in exc.value.errors[1] and "summary" in exc.value.errors[2]
    with pytest.raises(TouchpointBatchInvalid) as exc:
        touchpoint_record_batch(items=[items[0], TouchpointData(customer_id=gone_id, touchpoint_type=type_("pr"))])
    assert exc.value.errors == {1: {"customer": ["Unknown customer."]}}
    assert not Touchpoint.objects.exists()
    assert not CustomerJourney.objects.exists()


def test_batch_refuses_a_key_repeated_inside_it():
    customer = CustomerFactory()
    item = TouchpointData(customer_id=customer.pk, touchpoint_type=type_("research"), idempotency_key="k")
    with pytest.raises(TouchpointBatchInvalid) as exc:
        touchpoint_record_batch(items=[item, item])
    assert list(exc.value.errors) == [1]


def test_batch_replays_known_keys_and_records_the_rest():
    customer = CustomerFactory()
    touchpoint_create(customer, "research", idempotency_key="a")
    items = [
        TouchpointData(customer_id=customer.pk, touchpoint_type=type_("research"), idempotency_key="a"),
        TouchpointData(customer_id=customer.pk, touchpoint_type=type_("research"), idempotency_key="b"),
    ]
    first, second = touchpoint_record_batch(items=items)
    assert (first.replayed, second.replayed) == (True, False)
    assert Touchpoint.objects.count() == 2


def test_events_are_sent_after_commit_once_per_new_row(django_capture_on_commit_callbacks):
    customer = CustomerFactory()
    seen = []

    def on_touchpoint(sender, touchpoint, **kwargs):
        seen.append(("touchpoint", touchpoint.type.slug))

    def on_stage(sender, transition, **kwargs):
        seen.append(("stage", transition.to_stage))

    events.touchpoint_recorded.connect(on_touchpoint)
    events.journey_stage_changed.connect(on_stage)
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            touchpoint_create(customer, "transaction", idempotency_key="o-1")
        assert seen == []  # nothing before the commit
        for callback in callbacks:
            callback()
        assert seen == [("touchpoint", "transaction"), ("stage", "decision")]
        with django_capture_on_commit_callbacks(execute=True):
            touchpoint_create(customer, "transaction", idempotency_key="o-1")
        assert len(seen) == 2  # a replay announces nothing
    finally:
        events.touchpoint_recorded.disconnect(on_touchpoint)
        events.journey_stage_changed.disconnect(on_stage)


def test_a_failing_receiver_does_not_stop_the_others(django_capture_on_commit_callbacks):
    seen = []

    def broken(sender, **kwargs):
        raise RuntimeError("boom")

    def working(sender, touchpoint, **kwargs):
        seen.append(touchpoint.pk)

    events.touchpoint_recorded.connect(broken)
    events.touchpoint_recorded.connect(working)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            touchpoint = touchpoint_create(CustomerFactory(), "research")
        assert seen == [touchpoint.pk]
    finally:
        events.touchpoint_recorded.disconnect(broken)
        events.touchpoint_recorded.disconnect(working)


def test_merging_customers_keeps_the_journey_further_along():
    primary, duplicate = CustomerFactory(), CustomerFactory()
    touchpoint_create(primary, "research", occurred_at=days_ago(9))
    touchpoint_create(duplicate, "transaction", occurred_at=days_ago(2))
    customer_merge(primary=primary, duplicate=duplicate)
    journey = CustomerJourney.objects.get(customer=primary)
    assert journey.stage == Stage.DECISION
    assert CustomerJourney.objects.count() == 1
    assert Touchpoint.objects.filter(customer=primary).count() == 2
    assert StageTransition.objects.filter(customer=primary).count() == 2


def test_merging_moves_the_only_journey():
    primary, duplicate = CustomerFactory(), CustomerFactory()
    touchpoint_create(duplicate, "survey")
    customer_merge(primary=primary, duplicate=duplicate)
    assert CustomerJourney.objects.get().customer_id == primary.pk


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_requests_with_one_key_record_once():
    # given: a customer and two workers about to record the same purchase (a client retried too early)
    import threading

    from django.db import connection

    from tests.factories import TouchpointTypeFactory

    purchase = TouchpointTypeFactory(slug="transaction", stage="decision", kind="purchase")
    customer = CustomerFactory()
    barrier = threading.Barrier(2)
    results, failures = [], []

    def record():
        try:
            barrier.wait(timeout=10)
            touchpoint = touchpoint_record(
                customer=customer, touchpoint_type=purchase, amount=Decimal("3000"), idempotency_key="order-9"
            )
            results.append((touchpoint.pk, touchpoint.replayed))
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(exc)
        finally:
            connection.close()

    # when: both run at once
    threads = [threading.Thread(target=record) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    # then: one touchpoint, one stage change; both callers got it, one of them as a replay
    assert failures == []
    assert Touchpoint.objects.count() == 1
    assert StageTransition.objects.count() == 1
    assert {pk for pk, _replayed in results} == {Touchpoint.objects.get().pk}
    assert sorted(replayed for _pk, replayed in results) == [False, True]


def test_messages_sent_by_the_system_show_on_the_timeline_but_move_no_one_along_the_journey():
    from touchpoints.models import CustomerJourney, Direction, Touchpoint, TouchpointType
    from touchpoints.services import touchpoint_record

    # given: a lead in awareness
    customer = CustomerFactory()
    touchpoint_record(customer=customer, touchpoint_type=TouchpointType.objects.get(slug="brand-exposure"))

    # when: the outbox records a newsletter it sent (a retention-stage touchpoint)
    sent = touchpoint_record(
        customer=customer,
        touchpoint_type=TouchpointType.objects.get(slug="follow-up-email"),
        direction=Direction.OUTBOUND,
        source=Touchpoint.Source.SYSTEM,
    )

    # then: it is recorded, and the lead is still in awareness
    assert Touchpoint.objects.filter(pk=sent.pk).exists()
    assert CustomerJourney.objects.get(customer=customer).stage == "awareness"


def test_instances_built_without_init_equal_those_init_builds():
    """The batch service builds touchpoints and stage changes without Model.__init__ (services.inserts.instance)."""
    from django.db.models import signals

    from touchpoints.services.inserts import instance as _instance

    now = timezone.now()
    rows = {
        Touchpoint: (None, 1, 2, "decision", "web", "inbound", now, "s", Decimal("5.00"), "JPY", "", "", "", {}, "api")
        + (None, 3, "key", now),
        StageTransition: (None, 1, "awareness", "decision", now, None, False, "", 9, "web", None),
        CustomerJourney: (None, 1, "decision", now, now, now),
    }
    for model, row in rows.items():
        assert not signals.pre_init.has_listeners(model) and not signals.post_init.has_listeners(model)
        fast, slow = _instance(model, row), model(*row)
        assert {k: v for k, v in fast.__dict__.items() if k != "_state"} == {
            k: v for k, v in slow.__dict__.items() if k != "_state"
        }
        assert (fast._state.adding, fast._state.db) == (slow._state.adding, slow._state.db) == (True, None)


def test_touchpoints_are_built_in_the_order_of_their_fields():
    # the batch service builds touchpoints from rows of values, in this order
    assert [f.attname for f in Touchpoint._meta.concrete_fields] == [
        "id",
        "customer_id",
        "type_id",
        "stage",
        "channel",
        "direction",
        "occurred_at",
        "summary",
        "amount",
        "currency",
        "order_reference",
        "campaign",
        "utm_source",
        "metadata",
        "source",
        "recorded_by_user_id",
        "recorded_by_api_key_id",
        "idempotency_key",
        "created_at",
    ]
