"""factory-boy factories for every app's models; split per app when this file grows."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from customers.models import Customer, CustomerActivity, Note, Tag

User = get_user_model()


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    is_staff = True
    password = factory.django.Password("tsunagu-test")

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        """UserFactory(role="Manager") puts the user in that group (created by the roles migration)."""
        if create and extracted:
            self.groups.add(Group.objects.get(name=extracted))


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"tag-{n}")


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer
        skip_postgeneration_save = True

    family_name = factory.Faker("last_name")
    given_name = factory.Faker("first_name")
    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    preferred_language = "en"

    @factory.post_generation
    def last_activity_at(obj, create, extracted, **kwargs):  # noqa: N805 (factory_boy's hook signature)
        """``CustomerFactory(last_activity_at=…)`` sets the customer's activity row (created by the trigger)."""
        if create and extracted is not None:
            activity_set(obj, extracted)


def activity_set(customer, at) -> None:
    """Put a customer's last activity at ``at`` (back or forward, unlike ``customer_touch``)."""
    customer_id = getattr(customer, "pk", customer)
    CustomerActivity.objects.filter(customer_id=customer_id).update(last_activity_at=at)
    if isinstance(customer, Customer) and Customer.activity.is_cached(customer):
        Customer.activity.related.delete_cached_value(customer)


class NoteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Note

    customer = factory.SubFactory(CustomerFactory)
    author = factory.SubFactory(UserFactory)
    body = factory.Faker("sentence")


# --- touchpoints ----------------------------------------------------------------------------------


class TouchpointTypeFactory(factory.django.DjangoModelFactory):
    """A catalogue entry; the seeded ones are found by slug (``TouchpointTypeFactory(slug="transaction")``)."""

    class Meta:
        model = "touchpoints.TouchpointType"
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"type-{n}")
    name = factory.LazyAttribute(lambda t: t.slug.replace("-", " ").capitalize())
    stage = "awareness"


def api_key_create(name: str = "Online shop", by=None, scopes=None):
    """(ApiKey, raw key), made by the service as managers make them; every scope unless ``scopes`` is given."""
    from touchpoints.models import ApiScope
    from touchpoints.services import api_key_create as create

    return create(name=name, by=by, scopes=ApiScope.values if scopes is None else scopes)


def touchpoint_create(customer, slug: str = "research", **kwargs):
    """A touchpoint recorded the only way there is: through touchpoint_record (stage and journey included)."""
    from touchpoints.models import TouchpointType
    from touchpoints.services import touchpoint_record

    return touchpoint_record(customer=customer, touchpoint_type=TouchpointType.objects.get(slug=slug), **kwargs)


# --- outreach (touchpoints) -----------------------------------------------------------------------


class MessageTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "outreach.MessageTemplate"
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Template {n}")
    slug = factory.Sequence(lambda n: f"template-{n}")
    channel = "email"
    purpose = "marketing"
    subject_en = "Thank you, {customer_name}"
    body_en = "Dear {customer_name},\nthank you for shopping at {shop_name}.\nUnsubscribe: {unsubscribe_url}"
    subject_ja = "{customer_name}様、ありがとうございます"
    body_ja = "{customer_name}様\n{shop_name}をご利用いただきありがとうございます。\n配信停止: {unsubscribe_url}"


class FollowUpRuleFactory(factory.django.DjangoModelFactory):
    """A rule that sends ``template`` a day after a purchase (``trigger_type`` the seeded "transaction")."""

    class Meta:
        model = "outreach.FollowUpRule"

    name = factory.Sequence(lambda n: f"Rule {n}")
    trigger = "touchpoint"
    trigger_type = factory.LazyFunction(lambda: TouchpointTypeFactory(slug="transaction"))
    delay_amount = 1
    delay_unit = "days"
    action = "send"
    template = factory.SubFactory(MessageTemplateFactory)
    cap_days = 0


def consenting_customer(**kwargs):
    """A customer who accepts marketing email, with the consent recorded."""
    from django.utils import timezone

    defaults = {
        "family_name": "Sato",
        "given_name": "Hanako",
        "marketing_consent": True,
        "consent_source": "web_form",
        "consent_at": timezone.now(),
    }
    return CustomerFactory(**{**defaults, **kwargs})


# --- loyalty --------------------------------------------------------------------------------------


class ProgrammeFactory(factory.django.DjangoModelFactory):
    """A programme earning 1 point per 100 JPY, points valid 12 months, no bonuses unless given."""

    class Meta:
        model = "loyalty.Programme"
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Programme {n}")
    currency = "JPY"
    earn_rate = "0.01"
    points_lifetime_months = 12
    tier_grace_days = 30


class TierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "loyalty.Tier"

    programme = factory.SubFactory(ProgrammeFactory)
    name = factory.Sequence(lambda n: f"Tier {n}")
    position = factory.Sequence(lambda n: n + 1)
    threshold = 0
    multiplier = "1.00"


class RewardFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "loyalty.Reward"

    programme = factory.SubFactory(ProgrammeFactory)
    name = factory.Sequence(lambda n: f"Reward {n}")
    points_cost = 100


def programme_with_tiers(name: str = "Tsunagu Club", **kwargs):
    """A programme with Regular (0), Silver (1,000 points) ×1.5 and Gold (5,000 points) ×2."""
    programme = ProgrammeFactory(name=name, **kwargs)
    TierFactory(programme=programme, name="Regular", position=1, threshold=0, multiplier="1.00")
    TierFactory(programme=programme, name="Silver", position=2, threshold=1000, multiplier="1.50")
    TierFactory(programme=programme, name="Gold", position=3, threshold=5000, multiplier="2.00")
    return programme


def member_join(customer=None, programme=None, **kwargs):
    """A membership made the only way there is: through loyalty.services.membership_join."""
    from loyalty.services import membership_join

    return membership_join(customer=customer or CustomerFactory(), programme=programme or ProgrammeFactory(), **kwargs)


def purchase_record(customer, amount, order_reference: str = "", **kwargs):
    """A purchase touchpoint (the seeded "transaction" type); loyalty earns on it after commit."""
    return touchpoint_create(customer, "transaction", amount=amount, order_reference=order_reference, **kwargs)


def return_record(customer, order_reference: str, amount=None, **kwargs):
    return touchpoint_create(customer, "return", amount=amount, order_reference=order_reference, **kwargs)


# --- feedback -------------------------------------------------------------------------------------


def ticket_create(customer=None, **kwargs):
    """A ticket opened the only way there is: through ticket_open (SLA, touchpoint and all)."""
    from feedback.services import ticket_open

    kwargs.setdefault("subject", "The kettle lid does not close")
    kwargs.setdefault("body", "Bought last week; the lid springs open.")
    return ticket_open(customer=customer or CustomerFactory(), **kwargs)


class CannedResponseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "feedback.CannedResponse"
        django_get_or_create = ("title",)

    title = factory.Sequence(lambda n: f"Canned {n}")
    body = "Dear {customer_name}, thank you for your patience about {ticket_reference}. {agent_name}, {shop_name}"


# --- LINE -------------------------------------------------------------------------------------------


def line_user_id(n: int) -> str:
    return "U" + f"{n:032x}"


def line_linked_customer(n: int = 1, *, following: bool = True, **kwargs):
    """A consenting customer linked to the LINE user ``line_user_id(n)`` of the configured provider, following."""
    from django.conf import settings
    from django.utils import timezone

    from touchpoints.outreach.models import LineUser

    customer = consenting_customer(**kwargs)
    LineUser.objects.create(
        provider=settings.LINE_PROVIDER_ID or settings.LINE_CHANNEL_ID or "default",
        user_id=line_user_id(n),
        customer=customer,
        linked_at=timezone.now(),
        following=following,
        followed_at=timezone.now() if following else None,
        follow_event_id="EVT" + str(n) if following else "",
    )
    return customer


def line_linked_customers(n: int, *, provider: str, family_name: str = "Tanaka", prefix: str = "Line"):
    """``n`` consenting customers, each linked to its own LINE user of ``provider`` and following, written in bulk
    (the delivery tests and the LINE benchmark send to thousands)."""
    from django.utils import timezone

    from touchpoints.outreach.models import LineUser

    now = timezone.now()
    customers = []
    for i in range(n):
        customer = Customer(
            family_name=family_name,
            given_name=f"{prefix}{i}",
            preferred_language="ja",
            marketing_consent=True,
            consent_source="web_form",
            consent_at=now,
        )
        customer.derive_fields()
        customers.append(customer)
    customers = Customer.objects.bulk_create(customers, batch_size=2000)
    LineUser.objects.bulk_create(
        [
            LineUser(
                provider=provider,
                user_id=line_user_id(c.pk),
                customer=c,
                linked_at=now,
                following=True,
                followed_at=now,
                follow_event_id=f"E{c.pk}",
            )
            for c in customers
        ],
        batch_size=2000,
    )
    return customers
