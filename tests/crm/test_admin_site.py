"""The Django admin is the superuser's: role users (all staff) cannot read or write through it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import CustomerFactory, MessageTemplateFactory, NoteFactory


@pytest.mark.django_db
@pytest.mark.parametrize("role_client", ["manager_client", "support_client", "marketing_client"])
def test_role_users_are_sent_to_the_admin_login(request, role_client):
    client = request.getfixturevalue(role_client)
    for url in (reverse("admin:index"), reverse("admin:customers_customer_changelist")):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("admin:login")), url


@pytest.mark.django_db
def test_marketing_cannot_turn_a_template_into_a_service_message_in_the_admin(marketing_client):
    template = MessageTemplateFactory()
    url = reverse(f"admin:{template._meta.app_label}_messagetemplate_change", args=[template.pk])
    assert marketing_client.get(url)["Location"].startswith(reverse("admin:login"))
    response = marketing_client.post(url, {"name": template.name, "purpose": "transactional"})
    assert response["Location"].startswith(reverse("admin:login"))
    template.refresh_from_db()
    assert template.purpose == "marketing"


@pytest.mark.django_db
def test_support_cannot_back_date_a_note_in_the_admin(support_client, manager):
    note = NoteFactory(customer=CustomerFactory())
    before = (note.created_at, note.author_id, note.body)
    url = reverse("admin:customers_note_change", args=[note.pk])
    assert support_client.get(url)["Location"].startswith(reverse("admin:login"))
    support_client.post(
        url,
        {"customer": note.customer_id, "body": "rewritten", "author": manager.pk, "created_at_0": "2020-01-01"},
    )
    note.refresh_from_db()
    assert (note.created_at, note.author_id, note.body) == before


@pytest.mark.django_db
def test_a_superuser_uses_the_admin(admin_client):
    assert admin_client.get(reverse("admin:index")).status_code == 200
