"""Surveys: signed expiring links that accept one answer; each answer a touchpoint; closing the loop."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from feedback import services
from feedback.models import SlaPolicy, Survey, Ticket
from tests.factories import CustomerFactory, UserFactory, consenting_customer, ticket_create
from tests.feedback.conftest import survey_in
from touchpoints.models import Touchpoint
from touchpoints.outreach.models import OutboundMessage

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent():
    return UserFactory(username="agent", role="Support")


def resolved_ticket(agent, customer=None) -> tuple[Ticket, Survey]:
    ticket = ticket_create(customer, assignee=agent)
    services.ticket_status_change(ticket=ticket, status="resolved", by=agent)
    return ticket, Survey.objects.get(ticket=ticket)


def path_of(survey: Survey) -> str:
    return reverse("feedback:survey", args=[services.survey_token(survey)])


# --- Links ----------------------------------------------------------------------------------------


def test_the_link_shows_the_question_and_a_post_records_the_one_answer(client, agent):
    # given: a CSAT survey after a resolved ticket
    ticket, survey = resolved_ticket(agent)
    url = path_of(survey)
    # when: the customer opens the link (a mail scanner would do the same) and answers 4
    page = client.get(url)
    assert page.status_code == 200 and ticket.reference in page.content.decode()
    assert not Survey.objects.get(pk=survey.pk).is_answered  # a GET records nothing
    response = client.post(url, {"score": "4", "comment": "Quick and kind."})
    # then
    assert response.status_code == 200 and "Thank you for your answer" in response.content.decode()
    survey.refresh_from_db()
    assert (survey.score, survey.comment) == (4, "Quick and kind.") and survey.answered_at
    touchpoint = Touchpoint.objects.get(customer=ticket.customer, type__slug="survey")
    assert touchpoint.metadata == {"survey": survey.pk, "kind": "csat", "score": 4}
    assert "Quick and kind." in touchpoint.summary


def test_a_second_answer_changes_nothing(client, agent):
    _ticket, survey = resolved_ticket(agent)
    url = path_of(survey)
    client.post(url, {"score": "5"})
    # when: the same link is submitted again with another score
    response = client.post(url, {"score": "1", "comment": "changed my mind"})
    # then: the page says so, and the first answer stands (no second touchpoint, no follow-up ticket)
    assert "already answered" in response.content.decode()
    survey.refresh_from_db()
    assert survey.score == 5 and survey.comment == ""
    assert Touchpoint.objects.filter(type__slug="survey").count() == 1
    assert not Ticket.objects.filter(source_survey=survey).exists()
    assert "already answered" in client.get(url).content.decode()  # a replayed link


def test_the_service_accepts_one_answer_even_when_called_twice():
    survey = services.survey_create(customer=CustomerFactory(), kind="nps", send=False)
    _s, first = services.survey_answer(survey=survey, score=9)
    _s, second = services.survey_answer(survey=survey, score=0)
    assert (first, second) == (True, False)
    survey.refresh_from_db()
    assert survey.score == 9


@pytest.mark.parametrize(
    "tamper",
    [
        lambda token: token[:-1] + ("A" if token[-1] != "A" else "B"),  # another signature
        lambda token: "999999:" + token.split(":", 1)[1],  # another survey, same signature
        lambda token: "garbage",
        lambda token: token.split(":")[0],  # no signature at all
    ],
)
def test_a_forged_link_is_refused_with_a_clear_page(client, agent, tamper):
    _ticket, survey = resolved_ticket(agent)
    url = reverse("feedback:survey", args=[tamper(services.survey_token(survey))])
    for response in (client.get(url), client.post(url, {"score": "1"})):
        assert response.status_code == 404
        assert "This survey link is not valid" in response.content.decode()
    survey.refresh_from_db()
    assert not survey.is_answered


def test_an_expired_link_is_refused_with_a_clear_page(client, agent, monkeypatch, settings):
    settings.TSUNAGU_SURVEY_LINK_DAYS = 30
    _ticket, survey = resolved_ticket(agent)
    # the link was signed 31 days ago
    signed_at = time.time() - 31 * 86400
    monkeypatch.setattr("django.core.signing.time.time", lambda: signed_at)
    token = services.survey_token(survey)
    monkeypatch.undo()
    url = reverse("feedback:survey", args=[token])
    for response in (client.get(url), client.post(url, {"score": "5"})):
        assert response.status_code == 410
        assert "This survey link has expired" in response.content.decode()
    survey.refresh_from_db()
    assert not survey.is_answered


def test_a_link_of_another_signer_is_refused(client, agent):
    from django.core import signing

    _ticket, survey = resolved_ticket(agent)
    token = signing.TimestampSigner(salt="touchpoints.outbox.unsubscribe").sign(str(survey.pk))
    assert client.get(reverse("feedback:survey", args=[token])).status_code == 404


@pytest.mark.parametrize("score", ["0", "6", "", "five", "3.5"])
def test_a_score_off_the_scale_is_refused_and_nothing_is_recorded(client, agent, score):
    _ticket, survey = resolved_ticket(agent)
    response = client.post(path_of(survey), {"score": score, "comment": "kept"})
    assert response.status_code == 400 and "kept" in response.content.decode()
    survey.refresh_from_db()
    assert not survey.is_answered
    with pytest.raises(ValidationError):
        services.survey_answer(survey=survey, score=11)


def test_the_page_is_in_the_customers_language_and_fits_a_phone(client, agent):
    ja_customer = CustomerFactory(preferred_language="ja")
    _ticket, survey = resolved_ticket(agent, ja_customer)
    response = client.get(path_of(survey), headers={"accept-language": "en"})
    body = response.content.decode()
    assert '<html lang="ja">' in body and response["Content-Language"] == "ja"
    assert 'name="viewport" content="width=device-width' in body
    en_customer = CustomerFactory(preferred_language="en")
    _ticket, survey = resolved_ticket(agent, en_customer)
    body = client.get(path_of(survey), headers={"accept-language": "ja"}).content.decode()
    assert '<html lang="en">' in body and "How satisfied are you" in body


def test_the_page_preselects_a_score_from_the_link_without_recording_it(client, agent):
    _ticket, survey = resolved_ticket(agent)
    body = client.get(path_of(survey) + "?score=5").content.decode()
    assert 'value="5" autocomplete="off" required checked' in body
    survey.refresh_from_db()
    assert not survey.is_answered


# --- NPS ------------------------------------------------------------------------------------------


def test_an_nps_survey_for_a_consenting_customer_is_queued_as_marketing(outbox):
    customer = consenting_customer(preferred_language="en")
    survey = services.survey_create(customer=customer, kind="nps", source="staff")
    (message,) = outbox()
    assert message.key == f"feedback:survey:{survey.pk}" and message.template.slug == "nps-invite"
    assert message.purpose == "marketing" and message.status == "queued"
    assert survey_in(message.body) == survey and "Unsubscribe" in message.body
    assert Touchpoint.objects.filter(customer=customer, type__slug="feedback-request").count() == 1


def test_an_nps_survey_without_consent_is_skipped_and_no_request_is_recorded(outbox):
    customer = CustomerFactory(marketing_consent=False)
    services.survey_create(customer=customer, kind="nps")
    (message,) = outbox()
    assert message.status == "skipped" and message.skip_reason == "no_consent"
    assert not Touchpoint.objects.filter(customer=customer, type__slug="feedback-request").exists()


def test_the_nps_placeholder_reuses_the_open_survey(settings):
    from touchpoints.outreach import placeholders

    customer = CustomerFactory()
    first = placeholders.render("{nps_survey_url}", customer=customer, language="ja")
    second = placeholders.render("{nps_survey_url}", customer=customer, language="ja")
    assert first.startswith(settings.TSUNAGU_BASE_URL + "/feedback/s/")
    assert Survey.objects.filter(customer=customer, kind="nps").count() == 1
    assert services.survey_from_token(first.rstrip("/").rsplit("/", 1)[-1]).customer == customer
    assert second.rsplit("/", 2)[-2].split(":")[0] == first.rsplit("/", 2)[-2].split(":")[0]


def test_a_deleted_template_falls_back_to_the_built_in_text(outbox, agent):
    from touchpoints.outreach.models import MessageTemplate

    MessageTemplate.objects.filter(slug="csat-invite").delete()
    _ticket, survey = resolved_ticket(agent, CustomerFactory(preferred_language="ja"))
    (message,) = [m for m in outbox() if m.key.startswith("feedback:survey:")]
    assert message.template is None and survey_in(message.body) == survey
    assert "ご満足" in message.body and message.purpose == "transactional"


# --- Closing the loop -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "score", "opens"),
    [("csat", 1, True), ("csat", 2, True), ("csat", 3, False), ("csat", 5, False),
     ("nps", 0, True), ("nps", 6, True), ("nps", 7, False), ("nps", 10, False)],
)  # fmt: skip
def test_an_unhappy_answer_opens_a_follow_up_ticket(kind, score, opens):
    owner = UserFactory(username="owner", role="Support")
    customer = CustomerFactory(owner=owner)
    survey = services.survey_create(customer=customer, kind=kind, send=False)
    services.survey_answer(survey=survey, score=score, comment="The lid broke again.")
    follow_up = Ticket.objects.filter(source_survey=survey).first()
    assert (follow_up is not None) == opens
    if opens:
        assert follow_up.assignee == owner and follow_up.customer == customer
        assert follow_up.sla_policy == SlaPolicy.objects.get(is_follow_up=True)
        assert follow_up.priority == "high" and follow_up.channel == "survey" and follow_up.kind == "complaint"
        assert follow_up.body == "The lid broke again." and follow_up.loop_closed_at is None


def test_the_follow_up_goes_to_the_tickets_assignee_when_the_customer_has_no_owner(agent):
    _ticket, survey = resolved_ticket(agent, CustomerFactory(owner=None))
    services.survey_answer(survey=survey, score=1)
    follow_up = Ticket.objects.get(source_survey=survey)
    assert follow_up.assignee == agent and _ticket.reference in follow_up.subject


def test_a_follow_up_ticket_sends_no_csat_of_its_own(agent):
    survey = services.survey_create(customer=CustomerFactory(), kind="nps", send=False)
    services.survey_answer(survey=survey, score=2)
    follow_up = Ticket.objects.get(source_survey=survey)
    services.ticket_status_change(ticket=follow_up, status="resolved", by=agent)
    assert not Survey.objects.filter(ticket=follow_up).exists()


def test_the_reply_to_the_customer_closes_the_loop_and_the_time_is_measured(agent):
    from feedback.figures import feedback_figures, period

    survey = services.survey_create(customer=CustomerFactory(), kind="nps", send=False)
    answered = dt.datetime(2025, 11, 26, 1, 0, tzinfo=dt.UTC)
    services.survey_answer(survey=survey, score=3, now=answered)
    follow_up = Ticket.objects.get(source_survey=survey)
    services.ticket_reply(ticket=follow_up, body="Internal: call them", by=agent, public=False)
    follow_up.refresh_from_db()
    assert follow_up.loop_closed_at is None  # a note is not a reply to the customer
    replied = answered + dt.timedelta(hours=3)
    services.ticket_reply(ticket=follow_up, body="We are so sorry.", by=agent, now=replied)
    follow_up.refresh_from_db()
    assert follow_up.loop_closed_at == replied
    # the customer's mail does not carry the staff's subject ("Follow up: NPS score 3")
    mail = OutboundMessage.objects.filter(source_app="feedback", body__startswith="We are so sorry.").get()
    assert mail.subject == f"About your feedback [{follow_up.reference}]" and "score" not in mail.subject
    figures = feedback_figures(start=answered - dt.timedelta(days=1), end=answered + dt.timedelta(days=1))
    assert figures.loops_closed == 1 and figures.median_loop_close == dt.timedelta(hours=3)
    assert period(30)[1] > period(30)[0]


def test_staff_send_an_nps_survey_from_the_customer_page(client):
    client.force_login(UserFactory(username="mk", role="Marketing"))
    customer = consenting_customer()
    response = client.post(reverse("feedback:survey_send", args=[customer.pk]))
    assert response.status_code == 302
    survey = Survey.objects.get(customer=customer)
    assert survey.kind == "nps" and survey.source == "staff"
    assert OutboundMessage.objects.filter(key=f"feedback:survey:{survey.pk}").exists()
