"""factory-boy factories for every app's models; split per app when this file grows."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from customers.models import Customer, Note, Tag

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

    family_name = factory.Faker("last_name")
    given_name = factory.Faker("first_name")
    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    preferred_language = "en"


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


def api_key_create(name: str = "Online shop", by=None):
    """(ApiKey, raw key), made by the service as managers make them."""
    from touchpoints.services import api_key_create as create

    return create(name=name, by=by)


def touchpoint_create(customer, slug: str = "research", **kwargs):
    """A touchpoint recorded the only way there is: through touchpoint_record (stage and journey included)."""
    from touchpoints.models import TouchpointType
    from touchpoints.services import touchpoint_record

    return touchpoint_record(customer=customer, touchpoint_type=TouchpointType.objects.get(slug=slug), **kwargs)
