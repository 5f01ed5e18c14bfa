"""Contact preferences per channel and purpose: ``customers.consent.allows`` and the writes with their history,
the preference centre page (reached from the unsubscribe page and the member card), and the outbox obeying them."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core import signing
from django.urls import reverse

from customers import consent
from customers.models import ContactPreference, Customer
from customers.names import staff_name
from tests.factories import CustomerFactory
from touchpoints.outreach import outbox
from touchpoints.outreach.models import OutboundMessage
from touchpoints.outreach.preferences import preferences_url

pytestmark = pytest.mark.django_db

ALL_ON = {f"{c}_{p}": "on" for c, p in consent.CELLS}


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def test_the_defaults_follow_the_marketing_consent_and_do_not_contact():
    customer = CustomerFactory(marketing_consent=True)
    assert consent.allows(customer, "email", "news")
    assert consent.allows(customer, "line", "news") and consent.allows(customer, "sms", "news")  # the consent
    assert not consent.allows(CustomerFactory(marketing_consent=False), "line", "news")
    assert consent.allows(customer, "line", "greetings") and consent.allows(customer, "email", "surveys")
    customer.do_not_contact = True
    assert not any(consent.allows(customer, c, p) for c, p in consent.CELLS)
    with pytest.raises(ValueError):
        consent.allows(CustomerFactory(), "fax", "news")


def test_each_change_is_a_row_with_when_and_how_and_the_history_stays():
    customer = CustomerFactory(marketing_consent=False)
    first = consent.preferences_set(
        customer=customer,
        choices={("line", "news"): True, ("email", "surveys"): True},  # surveys: already allowed, nothing written
        source="preference_centre",
        evidence="test",
    )
    assert [(r.channel, r.purpose, r.allowed) for r in first] == [("line", "news", True)]
    consent.preferences_set(customer=customer, choices={("line", "news"): False}, source="staff", evidence="phone")
    assert not consent.allows(customer, "line", "news")
    history = list(ContactPreference.objects.filter(customer=customer, channel="line").order_by("at", "id"))
    assert [r.allowed for r in history] == [True, False] and history[1].source == "staff"
    assert all(r.at is not None and r.evidence for r in history)


def test_email_news_is_the_marketing_consent_with_its_proof():
    customer = CustomerFactory(marketing_consent=False)
    consent.preferences_set(customer=customer, choices={("email", "news"): True}, source="preference_centre",
                            evidence="Preference centre, from the member card")  # fmt: skip
    customer.refresh_from_db()
    assert customer.marketing_consent and customer.consent_at is not None
    assert "Preference centre" in customer.consent_evidence
    assert consent.allows(customer, "email", "news")


def test_a_full_opt_out_in_one_press():
    customer = CustomerFactory(marketing_consent=True)
    consent.preferences_opt_out(customer=customer, evidence="test")
    customer.refresh_from_db()
    assert not customer.marketing_consent
    assert not any(consent.allows(customer, c, p) for c, p in consent.CELLS)


# --- The page -------------------------------------------------------------------------------------


def test_the_centre_saves_choices_language_and_a_missing_birthday(client):
    customer = CustomerFactory(marketing_consent=False, birth_date=None, preferred_language="ja")
    url = path_of(preferences_url(customer.pk))
    page = client.get(url)
    assert page.status_code == 200 and "noindex" in page.content.decode() and 'lang="ja"' in page.content.decode()
    data = {"language": "en", "birth_date": "1990-02-03", "email_news": "on", "line_greetings": "on"}
    response = client.post(url, data)
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.preferred_language == "en" and customer.birth_date == dt.date(1990, 2, 3)
    assert customer.marketing_consent
    assert consent.allows(customer, "line", "greetings") and not consent.allows(customer, "email", "greetings")
    assert not consent.allows(customer, "email", "surveys")
    row = ContactPreference.objects.filter(customer=customer, channel="email", purpose="surveys").get()
    assert row.source == "preference_centre" and "member card" in row.evidence
    saved = client.get(response["Location"]).content.decode()
    assert "Your preferences are saved." in saved and 'name="birth_date"' not in saved  # not asked again


def test_a_get_changes_nothing_and_bad_input_is_said_plainly(client):
    customer = CustomerFactory(marketing_consent=True, birth_date=None)
    url = path_of(preferences_url(customer.pk))
    client.get(url)
    assert not ContactPreference.objects.exists()
    response = client.post(url, {"language": "xx", "birth_date": "1800-01-01"})
    assert response.status_code == 400 and "between 1900 and today" in response.content.decode()
    assert not ContactPreference.objects.exists()


def test_opting_out_of_everything_stops_queued_marketing(client):
    customer = CustomerFactory(marketing_consent=True)
    queued = outbox.message_enqueue(customer=customer, key="news-1", purpose="marketing", subject="Sale", body="50%")
    assert queued.status == "queued" or queued.skip_reason == "quiet_hours"
    response = client.post(path_of(preferences_url(customer.pk)), {"opt_out": "1", "language": "en"})
    assert response.status_code == 302
    assert "no more news" in client.get(response["Location"]).content.decode()
    queued.refresh_from_db()
    assert queued.status == "skipped"
    customer.refresh_from_db()
    assert not customer.marketing_consent


def test_a_forged_or_expired_link_is_refused(client, settings):
    customer = CustomerFactory()
    forged = signing.dumps(customer.pk, salt="something.else")
    assert client.get(reverse("preferences", args=[forged])).status_code == 404
    settings.TSUNAGU_PREFERENCES_LINK_DAYS = -1
    assert client.get(path_of(preferences_url(customer.pk))).status_code == 404


def test_the_unsubscribe_page_leads_to_the_centre(client):
    customer = CustomerFactory(marketing_consent=True)
    page = client.get(path_of(outbox.unsubscribe_url(customer.pk))).content.decode()
    link = re.search(r'href="(http[^"]+/preferences/[^"]+)"', page).group(1)
    assert client.get(path_of(link.replace("&amp;", "&"))).status_code == 200


# --- The senders ------------------------------------------------------------------------------------


def test_the_outbox_skips_greetings_and_surveys_the_customer_declined():
    customer = CustomerFactory(marketing_consent=True)
    consent.preferences_set(
        customer=customer,
        choices={("email", "greetings"): False, ("email", "surveys"): False},
        source="preference_centre",
        evidence="test",
    )
    greeting = outbox.message_enqueue(customer=customer, key="g", purpose="marketing", subject="Happy birthday",
                                      body="x", source_app="loyalty", source_ref="greeting:1")  # fmt: skip
    survey = outbox.message_enqueue(customer=customer, key="s", purpose="transactional", subject="How did we do?",
                                    body="x", source_app="feedback", source_ref="survey:1")  # fmt: skip
    news = outbox.message_enqueue(customer=customer, key="n", purpose="marketing", subject="News", body="x")
    code = outbox.message_enqueue(customer=customer, key="c", purpose="transactional", subject="Code", body="x",
                                  source_app="loyalty", source_ref="card:1")  # fmt: skip
    assert (greeting.status, greeting.skip_reason) == ("skipped", "opted_out")
    assert (survey.status, survey.skip_reason) == ("skipped", "opted_out")
    assert news.skip_reason != "opted_out" and code.status == "queued"
    assert OutboundMessage.objects.filter(status="skipped").count() == 2


def test_customers_merged_keep_their_preferences():
    from customers.services import customer_merge

    keep, gone = CustomerFactory(), CustomerFactory()
    consent.preferences_set(customer=gone, choices={("sms", "news"): True}, source="staff", evidence="x")
    customer_merge(primary=keep, duplicate=gone)
    assert consent.allows(Customer.objects.get(pk=keep.pk), "sms", "news")


# --- On the staff customer page -------------------------------------------------------------------


def test_the_customer_page_shows_each_choice_with_when_and_how_read_only_without_the_right(client, marketing):
    # given: a customer who said no to LINE news through the preference centre
    customer = CustomerFactory(marketing_consent=True)
    consent.preferences_set(customer=customer, choices={("line", "news"): False}, source="preference_centre",
                            evidence="Preference centre, from the member card")  # fmt: skip
    client.force_login(marketing)

    # when: marketing (no right to record preferences) opens the customer
    page = client.get(customer.get_absolute_url()).content.decode()

    # then: the grid shows the choice, when and how, and no form
    cell = page[page.index('data-cell="line-news"') :].split("</tr>")[0]
    assert "No" in cell and "Preference centre" in cell and "from the member card" in cell
    assert 'data-cell="email-news"' in page
    assert 'id="preferences-form"' not in page and 'name="pref_line_news"' not in page
    history = client.get(reverse("customers:preferences_history", args=[customer.pk])).content.decode()
    assert "from the member card" in history
    response = client.post(
        reverse("customers:preferences_set", args=[customer.pk]), {"evidence": "x", "language": "en"}
    )
    assert response.status_code == 403


def test_support_records_preferences_and_language_through_the_service(client, support):
    # given: a customer with the marketing consent, in Japanese
    customer = CustomerFactory(marketing_consent=True, preferred_language="ja")
    client.force_login(support)
    page = client.get(customer.get_absolute_url()).content.decode()
    assert 'id="preferences-form"' in page and 'name="pref_sms_surveys"' in page

    # when: support records, as asked by phone, no news by email and SMS, English
    data = {f"pref_{c}_{p}": "on" for c, p in consent.CELLS if p != "news" or c == "line"}
    data.update(language="en", evidence="By phone on 3 May")
    response = client.post(reverse("customers:preferences_set", args=[customer.pk]), data)

    # then: the changed cells are rows with how (staff, who, what the customer said); the consent follows
    assert response.status_code == 302
    customer.refresh_from_db()
    assert not customer.marketing_consent and customer.preferred_language == "en"
    assert not consent.allows(customer, "sms", "news") and consent.allows(customer, "line", "greetings")
    rows = list(ContactPreference.objects.filter(customer=customer))
    # (SMS news follows the consent, now withdrawn; LINE news stays on: the customer's own choice, recorded)
    assert {(r.channel, r.purpose, r.allowed) for r in rows} == {("email", "news", False), ("line", "news", True)}
    assert consent.allows(customer, "line", "news")
    who = staff_name(support)
    assert all(r.source == "staff" and r.evidence == f"{who}: By phone on 3 May" for r in rows)
    # and saving the same again writes nothing
    client.post(reverse("customers:preferences_set", args=[customer.pk]), data)
    assert ContactPreference.objects.filter(customer=customer).count() == 2
    # an empty "how" is refused
    client.post(reverse("customers:preferences_set", args=[customer.pk]), {**data, "evidence": ""})
    assert ContactPreference.objects.filter(customer=customer).count() == 2


def test_preferences_cost_the_customer_page_no_query(client, manager, django_assert_num_queries):
    # given: one customer who never chose, one with a history of nine changes
    plain = CustomerFactory()
    chosen = CustomerFactory(marketing_consent=True)
    for n in range(3):
        choices = {(c, "greetings"): n % 2 == 1 for c in ("email", "line", "sms")}
        consent.preferences_set(customer=chosen, choices=choices, source="preference_centre", evidence=f"change {n}")
    client.force_login(manager)
    client.get(plain.get_absolute_url())  # the session and permissions cached, as in the query budget tests
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = []
    for customer in (plain, chosen):
        with CaptureQueriesContext(connection) as captured:
            assert client.get(customer.get_absolute_url()).status_code == 200
        counts.append(len(captured))
    assert counts[0] == counts[1]
