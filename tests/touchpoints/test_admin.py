import pytest
from django.urls import reverse

from tests.factories import CustomerFactory, UserFactory, api_key_create, touchpoint_create
from touchpoints.models import ApiKey, CustomerJourney, StageTransition, Touchpoint, TouchpointType

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(username="root", is_superuser=True))
    return client


def test_every_journey_admin_page_renders(admin_client):
    customer = CustomerFactory(family_name="<b>bold</b>")
    touchpoint = touchpoint_create(customer, "transaction", summary="<script>x</script>")
    api_key, _raw = api_key_create()
    rows = {
        Touchpoint: touchpoint,
        TouchpointType: TouchpointType.objects.get(slug="transaction"),
        CustomerJourney: CustomerJourney.objects.get(),
        StageTransition: StageTransition.objects.get(),
        ApiKey: api_key,
    }
    for model, obj in rows.items():
        opts = model._meta
        changelist = admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"), {"q": "a"})
        assert changelist.status_code == 200, opts.model_name
        assert "<b>bold</b>" not in changelist.content.decode()
        change = admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]))
        assert change.status_code == 200, opts.model_name
        assert "<script>x</script>" not in change.content.decode()
        assert api_key.key_hash not in change.content.decode()


def test_a_touchpoint_added_in_the_admin_goes_through_the_service(admin_client):
    customer = CustomerFactory()
    response = admin_client.post(
        reverse("admin:touchpoints_touchpoint_add"),
        {
            "customer": customer.pk,
            "type": TouchpointType.objects.get(slug="survey").pk,
            "channel": "email",
            "direction": "outbound",
            "occurred_at_0": "2026-01-10",
            "occurred_at_1": "10:00:00",
            "summary": "NPS 9",
            "currency": "JPY",
            "metadata": "{}",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    touchpoint = Touchpoint.objects.get()
    assert (touchpoint.stage, touchpoint.source) == ("retention", "staff")
    assert CustomerJourney.objects.get(customer=customer).stage == "retention"


def test_keys_are_revoked_from_the_admin(admin_client):
    api_key, _raw = api_key_create()
    response = admin_client.post(
        reverse("admin:touchpoints_apikey_changelist"), {"action": "revoke", "_selected_action": [api_key.pk]}
    )
    assert response.status_code == 302
    api_key.refresh_from_db()
    assert api_key.revoked_at is not None
    assert admin_client.get(reverse("admin:touchpoints_apikey_add")).status_code == 403
