"""Staff sessions end after TSUNAGU_SESSION_IDLE_MINUTES without a request and TSUNAGU_SESSION_MAX_HOURS after the
login; the login page says why, and a form sent too late is filled in again after the login."""

from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse

from crm.accounts.timeout import SEEN, STARTED
from tests.factories import CustomerFactory


def age(client, *, seen: float = 0, started: float = 0) -> None:
    session = client.session
    session[SEEN] -= seen
    session[STARTED] -= started
    session.save()


@pytest.fixture
def logged_in(manager_client):
    return manager_client


def test_a_login_stamps_the_session(logged_in):
    assert logged_in.session[STARTED] == pytest.approx(logged_in.session[SEEN])


def test_a_session_idle_longer_than_the_limit_ends_with_a_message(logged_in, settings):
    age(logged_in, seen=settings.TSUNAGU_SESSION_IDLE_MINUTES * 60 + 5)

    response = logged_in.get(reverse("customers:list"), follow=True)

    assert response.redirect_chain[0][0] == reverse("login") + "?next=" + reverse("customers:list")
    assert "_auth_user_id" not in logged_in.session
    assert "60 minutes without activity" in response.content.decode()


def test_a_session_used_within_the_limit_goes_on(logged_in, settings):
    age(logged_in, seen=settings.TSUNAGU_SESSION_IDLE_MINUTES * 60 - 120)
    assert logged_in.get(reverse("customers:list")).status_code == 200
    # the request counted as activity
    age(logged_in, seen=200)
    assert logged_in.get(reverse("customers:list")).status_code == 200


def test_a_session_ends_at_its_absolute_lifetime_however_active(logged_in, settings):
    age(logged_in, started=settings.TSUNAGU_SESSION_MAX_HOURS * 3600 + 5)

    response = logged_in.get(reverse("customers:list"), follow=True)

    assert "_auth_user_id" not in logged_in.session
    assert "12 hours" in response.content.decode()


def test_an_htmx_request_after_the_timeout_sends_the_browser_to_the_login(logged_in, settings):
    age(logged_in, seen=settings.TSUNAGU_SESSION_IDLE_MINUTES * 60 + 5)
    response = logged_in.get(
        reverse("customers:list"), HTTP_HX_REQUEST="true", HTTP_REFERER="http://testserver/customers/"
    )
    assert response.status_code == 204
    assert response["HX-Redirect"].startswith(reverse("login"))


def test_a_form_sent_after_the_timeout_is_filled_in_again_after_the_login(logged_in, manager, settings):
    # given: a manager editing a customer, idle past the limit
    customer = CustomerFactory(family_name="Sato")
    edit = reverse("customers:update", args=[customer.pk])
    age(logged_in, seen=settings.TSUNAGU_SESSION_IDLE_MINUTES * 60 + 5)

    # when: they send the form
    response = logged_in.post(
        edit,
        {"family_name": "Satou", "given_name": "Hanako", "csrfmiddlewaretoken": "x"},
        HTTP_REFERER=f"http://testserver{edit}",
    )

    # then: nothing was saved, the login comes back to the form, which carries what they typed (once)
    assert response["Location"] == reverse("login") + "?next=" + edit
    customer.refresh_from_db()
    assert customer.family_name == "Sato"
    logged_in.post(reverse("login"), {"username": manager.username, "password": "tsunagu-test", "next": edit})
    page = logged_in.get(edit).content.decode()
    fields = json.loads(re.search(r'<script id="resume-form" type="application/json">(.*?)</script>', page).group(1))
    assert fields == {"family_name": ["Satou"], "given_name": ["Hanako"]}
    assert "resume-form" not in logged_in.get(edit).content.decode()


def test_passwords_are_never_kept_from_a_late_form(logged_in, settings):
    age(logged_in, seen=settings.TSUNAGU_SESSION_IDLE_MINUTES * 60 + 5)
    logged_in.post(
        reverse("accounts:password_change"),
        {"old_password": "a", "new_password1": "b", "new_password2": "b"},
    )
    assert "tsunagu_resume_form" not in logged_in.session
