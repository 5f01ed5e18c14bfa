"""CSAT and NPS surveys: signed, expiring links; one answer each, recorded as a "survey" touchpoint; an
unhappy answer opens a follow-up ticket."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from customers.models import Customer

from .. import events, subjects
from ..models import Survey, Ticket, format_reference
from . import tickets  # resolving a ticket sends a survey: a cycle, so each imports the other's module
from .delivery import _after_commit, _message_enqueue, _touchpoint_record, site_url
from .validation import COMMENT_MAX, _choice, _text

logger = logging.getLogger(__name__)


SURVEY_SALT = "feedback.survey.link"


CSAT_TEMPLATE = "csat-invite"
NPS_TEMPLATE = "nps-invite"


class SurveyLinkError(Exception):
    reason = "invalid"


class SurveyLinkInvalid(SurveyLinkError):
    reason = "invalid"


class SurveyLinkExpired(SurveyLinkError):
    reason = "expired"


def _survey_signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=SURVEY_SALT)


def survey_token(survey: Survey) -> str:
    return _survey_signer().sign(str(survey.pk))


def survey_link(survey: Survey) -> str:
    """The absolute, signed, expiring address where the customer answers."""
    return site_url(reverse("feedback:survey", args=[survey_token(survey)]))


def survey_from_token(token: str) -> Survey:
    """The survey a link points to; raises ``SurveyLinkExpired`` or ``SurveyLinkInvalid`` (forged, unknown)."""
    max_age = dt.timedelta(days=settings.TSUNAGU_SURVEY_LINK_DAYS)
    try:
        value = _survey_signer().unsign(token or "", max_age=max_age)
    except signing.SignatureExpired as exc:
        raise SurveyLinkExpired from exc
    except signing.BadSignature as exc:
        raise SurveyLinkInvalid from exc
    if not value.isdigit() or len(value) > 18:
        raise SurveyLinkInvalid
    survey = Survey.objects.select_related("customer", "ticket").filter(pk=int(value)).first()
    if survey is None:
        raise SurveyLinkInvalid
    return survey


@transaction.atomic
def survey_create(
    *,
    customer: Customer,
    kind: str,
    ticket: Ticket | None = None,
    by: AbstractBaseUser | None = None,
    source: str = "",
    send: bool = True,
    purpose: str = "",
    send_after: dt.datetime | None = None,
) -> Survey:
    """Ask a customer for a CSAT or NPS score. With ``send``, the invitation goes through the outbox
    (template ``csat-invite`` or ``nps-invite``) and a "feedback-request" touchpoint is recorded.

    One CSAT per ticket: asking again returns the first survey (the database holds this too).
    NPS is a marketing message by default (consent needed); CSAT about a ticket is a service message.
    """
    _choice(kind, Survey.Kind.values, name="kind")
    if ticket is not None:
        existing = Survey.objects.filter(ticket=ticket, kind=kind).first()
        if existing is not None:
            return existing
    survey = Survey.objects.create(
        customer=customer,
        kind=kind,
        ticket=ticket,
        language=customer.preferred_language or settings.LANGUAGE_CODE,
        source=(source or ("staff" if by else ""))[:100],
        created_by=by,
    )
    if send:
        survey_invite_enqueue(survey=survey, purpose=purpose, send_after=send_after)
    return survey


def survey_invite_enqueue(*, survey: Survey, purpose: str = "", send_after: dt.datetime | None = None) -> Any:
    """Mail the survey's link (template ``csat-invite`` or ``nps-invite``) and, when it goes out, record a
    "feedback-request" touchpoint."""
    customer = survey.customer
    is_csat = survey.kind == Survey.Kind.CSAT
    purpose = purpose or ("transactional" if is_csat else "marketing")
    link = survey_link(survey)
    context = {"survey_url": link, "nps_survey_url": link}
    if survey.ticket_id:
        context["ticket_reference"] = format_reference(survey.ticket_id)
    message = _message_enqueue(
        customer=customer,
        key=f"feedback:survey:{survey.pk}",
        purpose=purpose,
        template_slug=CSAT_TEMPLATE if is_csat else NPS_TEMPLATE,
        context=context,
        send_after=send_after,
        source_ref=f"survey:{survey.pk}",
    )
    Survey.objects.filter(pk=survey.pk).update(outbound=message)
    survey.outbound = message
    if message.status != "skipped":
        _touchpoint_record(
            customer=customer,
            slug="feedback-request",
            key=f"feedback:survey:{survey.pk}:sent",
            summary=_("%(kind)s survey sent") % {"kind": survey.get_kind_display()},
            channel="email",
            direction="outbound",
            # A ticket's CSAT request names the ticket: the ticket's timeline entry stands for it.
            metadata={
                "survey": survey.pk,
                "kind": survey.kind,
                **({"ticket": survey.ticket_id} if survey.ticket_id else {}),
            },
        )
    return message


def survey_open_for(*, customer: Customer, kind: str = Survey.Kind.NPS, source: str = "") -> Survey:
    """An unanswered survey of ``kind`` for the customer whose link still works, else a new one (not sent).

    For messages rendered elsewhere (broadcasts, follow-up rules): the ``{nps_survey_url}`` placeholder asks
    for it, so rendering a message twice does not create two surveys.
    """
    fresh_after = timezone.now() - dt.timedelta(days=max(1, settings.TSUNAGU_SURVEY_LINK_DAYS - 1))
    survey = (
        Survey.objects.filter(
            customer=customer, kind=kind, ticket__isnull=True, answered_at__isnull=True, created_at__gte=fresh_after
        )
        .order_by("-created_at", "-id")
        .first()
    )
    if survey is None:
        survey = survey_create(customer=customer, kind=kind, source=source or "message", send=False)
    return survey


@transaction.atomic
def survey_answer(
    *, survey: Survey, score: int, comment: str = "", now: dt.datetime | None = None
) -> tuple[Survey, bool]:
    """Record the one answer a survey accepts. Returns (survey, recorded); a second answer changes nothing.

    The answer is a "survey" touchpoint; an NPS detractor (0–6) or a CSAT of 1–2 opens a follow-up ticket
    with its own SLA, assigned to the customer's owner.
    """
    if not isinstance(score, int) or isinstance(score, bool) or score not in survey.scale:
        raise ValidationError({"score": _("Choose a score on the scale.")})
    comment = _text(comment, name="comment", limit=COMMENT_MAX)
    now = now or timezone.now()
    claimed = Survey.objects.filter(pk=survey.pk, answered_at__isnull=True).update(
        score=score, comment=comment, answered_at=now
    )
    survey = Survey.objects.select_related("customer", "customer__owner", "ticket__assignee").get(pk=survey.pk)
    if not claimed:
        return survey, False
    touchpoint = _touchpoint_record(
        customer=survey.customer,
        slug="survey",
        key=f"feedback:survey:{survey.pk}:answer",
        summary=(f"{survey.get_kind_display()}: {score}" + (f" — {comment}" if comment else ""))[:1000],
        channel="web",
        metadata={"survey": survey.pk, "kind": survey.kind, "score": score},
        at=now,
    )
    if survey.is_unhappy:
        _follow_up_open(survey, touchpoint=touchpoint, now=now)
    _after_commit(events.survey_answered, survey=survey)
    logger.info("survey answered id=%s kind=%s score=%s", survey.pk, survey.kind, score)
    return survey, True


def _follow_up_open(survey: Survey, *, touchpoint: Any, now: dt.datetime) -> Ticket:
    """Close the loop: someone comes back to an unhappy customer, within the follow-up policy's SLA."""
    customer = survey.customer
    owner = customer.owner
    assignee = owner if owner is not None and owner.is_active and owner.is_staff else None
    if assignee is None and survey.ticket is not None:
        ticket_assignee = survey.ticket.assignee
        if ticket_assignee is not None and ticket_assignee.is_active and ticket_assignee.is_staff:
            assignee = ticket_assignee
    with translation.override(settings.LANGUAGE_CODE):
        body = survey.comment or _("(no comment)")
    return tickets.ticket_open(
        customer=customer,
        **subjects.subject(subjects.FOLLOW_UP, kind=survey.kind, score=survey.score, ticket=survey.ticket_id),
        body=body,
        kind=Ticket.Kind.COMPLAINT,
        channel=Ticket.Channel.SURVEY,
        priority=Ticket.Priority.HIGH,
        assignee=assignee,
        touchpoint=touchpoint,
        source_survey=survey,
        now=now,
    )
