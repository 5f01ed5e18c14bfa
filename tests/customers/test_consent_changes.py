"""Consent is changed by the customer's own acts or by a staff member who says why, the reason kept (issue 16)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from customers.models import Customer, Note
from tests.customers.test_views import form_data
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_staff_changing_consent_must_give_a_reason_and_it_is_kept(support_client, support):
    customer = CustomerFactory(
        email="ichiro@example.com", marketing_consent=False, consent_source=Customer.ConsentSource.UNSUBSCRIBE
    )
    url = reverse("customers:update", args=[customer.pk])
    payload = form_data(marketing_consent="on", consent_source="in_store")

    response = support_client.post(url, payload)
    assert response.status_code == 200
    assert response.context["form"].errors["consent_change_reason"]
    customer.refresh_from_db()
    assert customer.marketing_consent is False

    response = support_client.post(url, {**payload, "consent_change_reason": "Signed the form at the till on 3 May"})
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.marketing_consent is True
    note = Note.objects.get(customer=customer)
    assert note.author == support
    assert "Signed the form at the till on 3 May" in note.body and "marketing consent: yes" in note.body


def test_a_withdrawal_by_staff_needs_a_reason_too(support_client):
    customer = CustomerFactory(email="ichiro@example.com", marketing_consent=True, consent_source="web_form")
    url = reverse("customers:update", args=[customer.pk])
    assert support_client.post(url, form_data(do_not_contact="on")).status_code == 200
    response = support_client.post(url, form_data(do_not_contact="on", consent_change_reason="Asked by phone"))
    assert response.status_code == 302
    customer.refresh_from_db()
    assert (customer.marketing_consent, customer.do_not_contact) == (False, True)
    assert "do not contact: yes" in Note.objects.get(customer=customer).body


def test_edits_that_leave_consent_alone_need_no_reason(support_client):
    customer = CustomerFactory(email="ichiro@example.com", marketing_consent=False)
    response = support_client.post(reverse("customers:update", args=[customer.pk]), form_data(company="Tanaka"))
    assert response.status_code == 302
    assert not Note.objects.exists()
