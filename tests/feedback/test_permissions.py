"""One walk over every feedback URL with every role (RELIABILITY.md: checks on view but not on edit)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from feedback import services
from feedback.models import PendingSubmission, Survey
from tests.factories import CannedResponseFactory, CustomerFactory, UserFactory, ticket_create

pytestmark = pytest.mark.django_db

ROLES = ["Support", "Marketing", "Manager", None]
STAFF = {"Support", "Manager"}
EVERYONE = {"Support", "Marketing", "Manager"}


def urls() -> dict[str, tuple[str, str, set, dict]]:
    """name: (method, url, roles allowed, data). Allowed answers are 200 or 302; others 403."""
    customer = CustomerFactory()
    ticket = ticket_create(customer)
    canned = CannedResponseFactory()
    return {
        "queue": ("get", reverse("feedback:queue"), STAFF, {}),
        "queue mine": ("get", reverse("feedback:queue") + "?queue=mine", STAFF, {}),
        "new ticket": ("get", reverse("feedback:ticket_create"), STAFF, {}),
        "new ticket post": (
            "post",
            reverse("feedback:ticket_create"),
            STAFF,
            {"customer": customer.pk, "subject": "Hi", "kind": "question", "channel": "phone", "priority": "low"},
        ),
        "customer search": ("get", reverse("feedback:customer_search") + "?q=a", STAFF, {}),
        "bulk": ("post", reverse("feedback:bulk"), STAFF, {"ids": [ticket.pk], "action": "assign"}),
        "ticket": ("get", reverse("feedback:ticket_detail", args=[ticket.pk]), STAFF, {}),
        "messages": ("get", reverse("feedback:ticket_messages", args=[ticket.pk]), STAFF, {}),
        "reply": (
            "post",
            reverse("feedback:ticket_reply", args=[ticket.pk]),
            STAFF,
            {"body": "x", "visibility": "note"},
        ),
        "status": ("post", reverse("feedback:ticket_status", args=[ticket.pk]), STAFF, {"status": "open"}),
        "assign": ("post", reverse("feedback:ticket_assign", args=[ticket.pk]), STAFF, {"assignee": ""}),
        "edit": ("post", reverse("feedback:ticket_update", args=[ticket.pk]), STAFF, {"subject": "x"}),
        "canned for ticket": (
            "get",
            reverse("feedback:ticket_canned", args=[ticket.pk]) + f"?canned={canned.pk}",
            STAFF,
            {},
        ),
        "send nps": ("post", reverse("feedback:survey_send", args=[customer.pk]), EVERYONE, {}),
        "survey answers": ("get", reverse("feedback:surveys"), EVERYONE, {}),
        "figures": ("get", reverse("feedback:figures"), EVERYONE, {}),
        "canned list": ("get", reverse("feedback:canned"), STAFF, {}),
        "canned create": ("get", reverse("feedback:canned_create"), STAFF, {}),
        "canned create post": ("post", reverse("feedback:canned_create"), STAFF, {"title": "t", "body": "b"}),
        "canned edit": ("get", reverse("feedback:canned_update", args=[canned.pk]), STAFF, {}),
        "canned edit post": (
            "post",
            reverse("feedback:canned_update", args=[canned.pk]),
            STAFF,
            {"title": canned.title, "body": "b", "is_active": "on"},
        ),
        "canned delete": ("get", reverse("feedback:canned_delete", args=[canned.pk]), STAFF, {}),
        "canned delete post": ("post", reverse("feedback:canned_delete", args=[canned.pk]), STAFF, {}),
    }


@pytest.mark.parametrize("role", ROLES)
def test_every_feedback_url_with_every_role(client, role):
    user = UserFactory(username=f"user-{role}", role=role)
    client.force_login(user)
    for name, (method, url, allowed, data) in urls().items():
        response = getattr(client, method)(url, data)
        if role in allowed:
            assert response.status_code in (200, 302), (name, role, response.status_code)
        else:
            assert response.status_code == 403, (name, role, response.status_code)


def test_anonymous_visitors_are_sent_to_log_in_from_every_staff_url(client):
    for name, (method, url, _allowed, data) in urls().items():
        response = getattr(client, method)(url, data)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], name


def test_the_public_pages_need_no_login(client):
    survey = services.survey_create(customer=CustomerFactory(), kind="nps", send=False)
    assert client.get(reverse("feedback:form")).status_code == 200
    assert client.get(reverse("feedback:thanks")).status_code == 200
    client.post(reverse("feedback:form"), {"name": "A", "email": "a@example.com", "kind": "question", "message": "Hi"})
    token = services.confirm_token(PendingSubmission.objects.get())
    assert client.get(reverse("feedback:confirm", args=[token])).status_code == 200
    assert client.get(reverse("feedback:survey", args=[services.survey_token(survey)])).status_code == 200
    assert Survey.objects.count() == 1


@pytest.mark.parametrize(
    ("role", "has", "has_not"),
    [
        ("Support", {"view_ticket", "change_ticket", "bulk_change_ticket", "add_cannedresponse", "view_figures"},
         {"delete_ticket", "change_slapolicy", "change_holiday"}),
        ("Marketing", {"view_figures", "view_survey", "send_survey"}, {"view_ticket", "view_cannedresponse"}),
        ("Manager", {"delete_ticket", "change_slapolicy", "change_holiday", "change_businesshours", "view_figures"},
         set()),
    ],
)  # fmt: skip
def test_roles_hold_their_feedback_permissions(role, has, has_not):
    user = UserFactory(username=f"p-{role}", role=role)
    assert {p for p in has if user.has_perm(f"feedback.{p}")} == has
    assert not {p for p in has_not if user.has_perm(f"feedback.{p}")}


def test_the_navbar_shows_the_feedback_menu_by_role(client):
    client.force_login(UserFactory(username="s", role="Support"))
    body = client.get(reverse("home")).content.decode()
    assert reverse("feedback:queue") in body and reverse("feedback:canned") in body
    client.force_login(UserFactory(username="m", role="Marketing"))
    body = client.get(reverse("home")).content.decode()
    assert reverse("feedback:figures") in body and reverse("feedback:queue") not in body


def test_a_user_without_bulk_rights_sees_no_bulk_actions(client):
    from django.contrib.auth.models import Permission

    user = UserFactory(username="viewer")
    user.user_permissions.add(Permission.objects.get(codename="view_ticket", content_type__app_label="feedback"))
    client.force_login(user)
    ticket_create()
    body = client.get(reverse("feedback:queue")).content.decode()
    assert 'id="bulk-actions"' not in body and 'name="ids"' not in body
