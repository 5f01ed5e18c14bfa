"""Canned responses: staff-written replies with placeholders filled per ticket."""

from __future__ import annotations

import logging
import re

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from customers.names import staff_name

from ..models import CannedResponse, Ticket
from .validation import _text

logger = logging.getLogger(__name__)


PLACEHOLDER_RE = re.compile(r"\{([a-z_]+)\}")
CANNED_PLACEHOLDERS = ["customer_name", "ticket_reference", "ticket_subject", "agent_name", "shop_name"]


def canned_response_render(*, canned: CannedResponse, ticket: Ticket, agent: AbstractBaseUser | None) -> str:
    """The response's text with its placeholders filled for ``ticket``; unknown braces stay as typed."""
    customer = ticket.customer
    with translation.override(customer.preferred_language or settings.LANGUAGE_CODE):
        values = {
            "customer_name": customer.display_name,
            "ticket_reference": ticket.reference,
            "ticket_subject": ticket.subject,
            "agent_name": staff_name(agent),
            "shop_name": settings.TSUNAGU_SHOP_NAME,
        }
    return PLACEHOLDER_RE.sub(lambda m: values.get(m.group(1), m.group(0)), canned_text_for(canned, customer))


def canned_text_for(canned: CannedResponse, customer) -> str:
    """The text in the customer's language (English for those who read English), else the other one."""
    english = (customer.preferred_language or "").startswith("en")
    first, second = (canned.body_en, canned.body) if english else (canned.body, canned.body_en)
    return first or second


def canned_placeholders_check(body: str) -> None:
    """Refuse braces naming no placeholder (a typo would reach the customer as typed)."""
    unknown = sorted(set(PLACEHOLDER_RE.findall(body or "")) - set(CANNED_PLACEHOLDERS))
    if unknown:
        raise ValidationError(
            {"body": _("Unknown placeholders: %(names)s.") % {"names": ", ".join("{" + n + "}" for n in unknown)}}
        )


@transaction.atomic
def canned_response_save(
    *,
    title: str,
    body: str,
    body_en: str = "",
    is_active: bool = True,
    canned: CannedResponse | None = None,
    by: AbstractBaseUser | None = None,
) -> CannedResponse:
    title = _text(title, name="title", limit=100, required=True, single_line=True)
    body = _text(body, name="body", limit=5_000, required=False)
    body_en = _text(body_en, name="body_en", limit=5_000, required=False)
    if not body and not body_en:
        raise ValidationError({"body": _("Write the reply in Japanese, in English, or both.")})
    canned_placeholders_check(body)
    try:
        canned_placeholders_check(body_en)
    except ValidationError as exc:
        raise ValidationError({"body_en": exc.message_dict["body"]}) from None
    clash = CannedResponse.objects.filter(title__iexact=title)
    if canned is not None and canned.pk:
        clash = clash.exclude(pk=canned.pk)
    if clash.exists():
        raise ValidationError({"title": _("A canned response with this title already exists.")})
    canned = canned if canned is not None else CannedResponse()
    if canned.pk is None and canned.created_by_id is None:
        canned.created_by = by
    canned.title, canned.body, canned.body_en, canned.is_active = title, body, body_en, is_active
    canned.save()
    return canned


@transaction.atomic
def canned_response_delete(*, canned: CannedResponse, by: AbstractBaseUser | None = None) -> None:
    pk = canned.pk
    canned.delete()
    logger.info("canned response deleted id=%s by=%s", pk, getattr(by, "pk", None))
