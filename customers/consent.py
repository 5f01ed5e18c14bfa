"""What each customer agreed to receive, per channel and per purpose: ``allows(customer, channel, purpose)`` is
what every sender asks (the outbox for email; LINE and SMS when they send), and the preference centre writes
through ``preferences_set`` and ``preferences_opt_out``. Each change is a new ``ContactPreference`` row with when
and how, so the history stays.

The rules, where the customer has said nothing:
- "do not contact" allows nothing, whatever the rows say;
- news and offers by email *is* the marketing consent (``Customer.marketing_consent``, with its proof): the
  centre writes both, and staff's and the unsubscribe link's changes of the consent hold here too;
- news and offers by LINE or SMS follow the marketing consent until the customer chooses for that channel (as
  every marketing message did before the preference centre);
- greetings and surveys are allowed until the customer says no (a marketing greeting still needs the marketing
  consent at the outbox, as before).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from .models import ContactPreference, Customer

logger = logging.getLogger(__name__)

Channel = ContactPreference.Channel
Purpose = ContactPreference.Purpose
Source = ContactPreference.Source
CELLS = [(channel, purpose) for channel in Channel.values for purpose in Purpose.values]


def _default(customer: Customer, channel: str, purpose: str) -> bool:
    if purpose == Purpose.NEWS:
        return bool(customer.marketing_consent)
    return True


# Where ``preferences_attach`` leaves a customer's chosen cells for ``allows`` (like a prefetch: one query a batch).
_ATTACHED = "_contact_preferences"


def preferences_attach(customers: Iterable[Customer]) -> None:
    """Read the chosen cells of all these customers in one query; ``allows`` then answers from them without a
    query of its own (a sender's loop over a batch). The cells are a snapshot: a later ``preferences_set`` on the
    same object drops it."""
    customers = [c for c in customers if c is not None]
    latest: dict[int, dict[tuple[str, str], bool]] = {c.pk: {} for c in customers}
    if latest:
        rows = (
            ContactPreference.objects.filter(customer_id__in=list(latest))
            .order_by("customer_id", "-at", "-id")
            .values_list("customer_id", "channel", "purpose", "allowed")
        )
        for customer_id, channel, purpose, allowed in rows:
            latest[customer_id].setdefault((channel, purpose), allowed)
    for customer in customers:
        customer.__dict__[_ATTACHED] = latest[customer.pk]


def allows_many(customers: Iterable[Customer], channel: str, purpose: str) -> dict[int, bool]:
    """``allows`` for each of ``customers`` ({customer id: allowed}), in one query whatever their number."""
    customers = list(customers)
    preferences_attach(customers)
    return {customer.pk: allows(customer, channel, purpose) for customer in customers}


def _latest(customer: Customer, channel: str | None = None, purpose: str | None = None) -> dict[tuple[str, str], bool]:
    """{(channel, purpose): allowed} of the newest rows, in one query on contact_preference_idx (newest first; the
    first row of each cell wins: portable, where DISTINCT ON is PostgreSQL's alone); none when attached."""
    attached = customer.__dict__.get(_ATTACHED)
    if attached is not None:
        return attached
    qs = ContactPreference.objects.filter(customer_id=customer.pk).order_by("-at", "-id")
    if channel is not None:
        qs = qs.filter(channel=channel, purpose=purpose)[:1]
    latest: dict[tuple[str, str], bool] = {}
    for row in qs.only("channel", "purpose", "allowed"):
        latest.setdefault((row.channel, row.purpose), row.allowed)
    return latest


def allows(customer: Customer, channel: str, purpose: str) -> bool:
    """May ``customer`` get a message of ``purpose`` ("news", "greetings", "surveys") on ``channel`` ("email",
    "line", "sms")? One indexed query at most (none for email news: that is the marketing consent; none either when
    the batch's preferences were read by ``preferences_attach``)."""
    if customer.do_not_contact:
        return False
    if channel == Channel.EMAIL and purpose == Purpose.NEWS:
        return bool(customer.marketing_consent)
    if (channel, purpose) not in CELLS:
        raise ValueError(f"unknown channel or purpose: {channel!r}, {purpose!r}")
    latest = _latest(customer, channel, purpose)
    return latest.get((channel, purpose), _default(customer, channel, purpose))


def preferences_of(customer: Customer) -> dict[tuple[str, str], bool]:
    """Every cell of the grid as it holds now (the rules above for cells the customer never chose)."""
    latest = _latest(customer)
    grid = {cell: latest.get(cell, _default(customer, *cell)) for cell in CELLS}
    grid[(Channel.EMAIL, Purpose.NEWS)] = bool(customer.marketing_consent)
    return grid


def _moment(value) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value
    moment = parse_datetime(value) if isinstance(value, str) else None
    if moment is not None and timezone.is_naive(moment):  # SQLite's JSON keeps the UTC time without its offset
        moment = timezone.make_aware(moment, dt.UTC)
    return moment


def preferences_grid(customer: Customer) -> list[dict]:
    """The grid for the staff's customer page: per channel, per purpose, whether it is allowed now and the
    customer's own choice behind it (when, how) or None where the rules above decide. Reads the annotations of
    ``Customer.objects.with_preferences()`` (no query), or the rows (one query) on a customer without them."""
    annotated = hasattr(customer, f"pref_{Channel.EMAIL}_{Purpose.NEWS}")
    rows: dict[tuple[str, str], dict | None] = {}
    if annotated:
        for cell in CELLS:
            rows[cell] = getattr(customer, f"pref_{cell[0]}_{cell[1]}")
    else:
        qs = ContactPreference.objects.filter(customer_id=customer.pk).order_by("-at", "-id")
        for row in qs.only("channel", "purpose", "allowed", "at", "source", "evidence"):
            rows.setdefault((row.channel, row.purpose), {"allowed": row.allowed, "at": row.at, "source": row.source,
                                                         "evidence": row.evidence})  # fmt: skip
    sources = dict(Source.choices)
    grid = []
    for channel, channel_label in Channel.choices:
        cells = []
        for purpose, purpose_label in Purpose.choices:
            chosen = rows.get((channel, purpose))
            allowed = chosen["allowed"] if chosen else _default(customer, channel, purpose)
            if channel == Channel.EMAIL and purpose == Purpose.NEWS:
                allowed = bool(customer.marketing_consent)  # the marketing consent, whatever the rows say
            cells.append({
                "channel": channel,
                "purpose": purpose,
                "label": purpose_label,
                "allowed": bool(allowed),
                "effective": bool(allowed) and not customer.do_not_contact,
                "at": _moment(chosen["at"]) if chosen else None,
                "how": sources.get(chosen["source"], "") if chosen else "",
                "evidence": chosen["evidence"] if chosen else "",
            })  # fmt: skip
        grid.append({"channel": channel, "label": channel_label, "cells": cells})
    return grid


@transaction.atomic
def preferences_set(
    *,
    customer: Customer,
    choices: Mapping[tuple[str, str], bool],
    source: str,
    evidence: str,
    at: dt.datetime | None = None,
) -> list[ContactPreference]:
    """Record the cells that change (one row each, with when and how); the others write nothing. Email news also
    sets the marketing consent and its proof, the way the rest of Tsunagu reads it. Returns the rows written."""
    at = at or timezone.now()
    customer.__dict__.pop(_ATTACHED, None)  # what this writes makes an attached snapshot stale
    locked = Customer.objects.select_for_update(no_key=True).get(pk=customer.pk)
    # Cells the customer never chose follow the marketing consent; when this change moves the consent too, they
    # follow its new value: a "yes" to LINE news given with a "no" to email news is then the customer's own.
    latest = _latest(locked)
    email_news = choices.get((Channel.EMAIL, Purpose.NEWS))
    consent_after = locked.marketing_consent if email_news is None else bool(email_news)
    current = {cell: latest.get(cell, _default(locked, *cell) if cell[1] != Purpose.NEWS else consent_after)
               for cell in CELLS}  # fmt: skip
    current[(Channel.EMAIL, Purpose.NEWS)] = bool(locked.marketing_consent)
    evidence = " ".join((evidence or "").split())[:300]
    rows = [
        ContactPreference(
            customer=locked,
            channel=channel,
            purpose=purpose,
            allowed=bool(allowed),
            at=at,
            source=source,
            evidence=evidence,
        )  # fmt: skip
        for (channel, purpose), allowed in choices.items()
        if (channel, purpose) in current and current[(channel, purpose)] != bool(allowed)
    ]
    ContactPreference.objects.bulk_create(rows)
    if email_news is not None and bool(email_news) != locked.marketing_consent:
        # The consent proof fields only: a preference must never fail on unrelated validation of the profile.
        Customer.objects.filter(pk=locked.pk).update(
            marketing_consent=bool(email_news),
            consent_at=at,
            consent_source=Customer.ConsentSource.UNSUBSCRIBE if not email_news else Customer.ConsentSource.WEB_FORM,
            consent_evidence=(_("Preference centre: %(how)s") % {"how": evidence})[:300],
            updated_at=at,
        )
        customer.marketing_consent = bool(email_news)
    if rows:
        logger.info("contact preferences changed customer=%s cells=%d source=%s", customer.pk, len(rows), source)
    return rows


def preferences_opt_out(*, customer: Customer, evidence: str, at: dt.datetime | None = None) -> list[ContactPreference]:
    """No to everything, on every channel, in one press (the marketing consent included)."""
    return preferences_set(
        customer=customer,
        choices=dict.fromkeys(CELLS, False),
        source=Source.OPT_OUT,
        evidence=evidence,
        at=at,
    )


@transaction.atomic
def profile_set(*, customer: Customer, language: str, birth_date: dt.date | None = None) -> None:
    """The customer's own language, and their birthday when we had none (the preference centre). A direct update
    of these fields only: the customer's choice must never fail on unrelated validation of the profile."""
    changes: dict = {}
    if language in Customer.Language.values and language != customer.preferred_language:
        changes["preferred_language"] = language
    if birth_date is not None and customer.birth_date is None:
        changes["birth_date"] = birth_date
    if changes:
        Customer.objects.filter(pk=customer.pk).update(**changes, updated_at=timezone.now())
        for name, value in changes.items():
            setattr(customer, name, value)
        logger.info("customer profile set by the customer id=%s fields=%s", customer.pk, sorted(changes))
