"""Writes of the privacy requests: record one, build a disclosure, carry out an erasure, apply the retention policy.

A request is never deleted here; an erasure is irreversible, so it runs only on a recorded request and after the
staff member typed the customer's number.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Customer

from .disclosure import disclosure_archive
from .erasure import customer_anonymise
from .models import DataRequest

logger = logging.getLogger(__name__)

ANONYMISED_KINDS = [DataRequest.Kind.ERASURE, DataRequest.Kind.RETENTION]


@transaction.atomic
def data_request_record(
    *, customer: Customer, kind: str, received_via: str, note: str = "", by: AbstractBaseUser | None
) -> DataRequest:
    if kind not in (DataRequest.Kind.DISCLOSURE, DataRequest.Kind.ERASURE):
        raise ValidationError({"kind": _("Only a disclosure or an erasure can be requested.")})
    if received_via not in DataRequest.Via.values or received_via == DataRequest.Via.POLICY:
        raise ValidationError({"received_via": _("Say how the request was received.")})
    data_request = DataRequest.objects.create(
        kind=kind,
        customer=customer,
        customer_ref=customer.pk,
        received_via=received_via,
        note=(note or "").strip(),
        handled_by=by,
    )
    logger.info("privacy request recorded id=%s kind=%s by=%s", data_request.pk, kind, getattr(by, "pk", None))
    return data_request


@transaction.atomic
def disclosure_build(*, data_request: DataRequest, by: AbstractBaseUser | None) -> bytes:
    """The archive for a disclosure request; the first download completes the request, each one is counted."""
    if data_request.kind != DataRequest.Kind.DISCLOSURE:
        raise ValidationError(_("Only a disclosure request has an archive."))
    customer = data_request.customer
    if customer is None:
        raise ValidationError(_("This customer no longer exists."))
    archive = disclosure_archive(customer, request_id=data_request.pk)
    now = timezone.now()
    DataRequest.objects.filter(pk=data_request.pk, completed_at__isnull=True).update(
        status=DataRequest.Status.COMPLETED, completed_at=now, handled_by=by
    )
    downloads = (data_request.outcome or {}).get("downloads", 0) + 1
    DataRequest.objects.filter(pk=data_request.pk).update(outcome={"downloads": downloads})
    data_request.refresh_from_db()
    return archive


def already_anonymised(customer_id: int) -> bool:
    return DataRequest.objects.filter(
        customer_ref=customer_id, kind__in=ANONYMISED_KINDS, status=DataRequest.Status.COMPLETED
    ).exists()


@transaction.atomic
def customer_erase(*, data_request: DataRequest, confirmation: str, by: AbstractBaseUser | None) -> DataRequest:
    """Anonymise the request's customer, irreversibly; running it again on a completed request changes nothing."""
    data_request = DataRequest.objects.select_for_update().get(pk=data_request.pk)
    if data_request.kind != DataRequest.Kind.ERASURE:
        raise ValidationError(_("Only an erasure request erases a customer."))
    if data_request.status == DataRequest.Status.COMPLETED:
        return data_request
    if (confirmation or "").strip().lstrip("#") != str(data_request.customer_ref):
        raise ValidationError({"confirmation": _("Type the customer's number exactly as shown to confirm.")})
    customer = Customer.objects.select_for_update().filter(pk=data_request.customer_id).first()
    counts = customer_anonymise(customer=customer) if customer is not None else {}
    data_request.status = DataRequest.Status.COMPLETED
    data_request.completed_at = timezone.now()
    data_request.handled_by = by
    data_request.outcome = counts
    data_request.save(update_fields=["status", "completed_at", "handled_by", "outcome"])
    logger.info("customer erased request=%s by=%s", data_request.pk, getattr(by, "pk", None))
    return data_request


def retention_cutoff(*, now: dt.datetime | None = None) -> dt.datetime | None:
    years = int(settings.TSUNAGU_RETENTION_INACTIVE_YEARS or 0)
    if years <= 0:
        return None
    now = now or timezone.now()
    try:
        return now.replace(year=now.year - years)
    except ValueError:  # 29 February: the day before
        return (now - dt.timedelta(days=1)).replace(year=now.year - years)


def retention_candidates(*, now: dt.datetime | None = None):
    """Customers inactive since before the cutoff and not yet anonymised (the activity index finds them)."""
    cutoff = retention_cutoff(now=now)
    if cutoff is None:
        return Customer.objects.none()
    done = DataRequest.objects.filter(kind__in=ANONYMISED_KINDS, status=DataRequest.Status.COMPLETED)
    return (
        Customer.objects.filter(activity__last_activity_at__lt=cutoff)
        .exclude(pk__in=done.values("customer_ref"))
        .order_by("pk")
    )


@dataclass(frozen=True)
class RetentionStatus:
    """What the privacy requests page says of the policy: off (years 0), or its period, cutoff and who is due."""

    years: int
    cutoff: dt.datetime | None
    due: int


def retention_status(*, now: dt.datetime | None = None) -> RetentionStatus:
    cutoff = retention_cutoff(now=now)
    due = retention_candidates(now=now).count() if cutoff is not None else 0
    return RetentionStatus(years=int(settings.TSUNAGU_RETENTION_INACTIVE_YEARS or 0), cutoff=cutoff, due=due)


def retention_anonymise(*, now: dt.datetime | None = None, chunk: int = 200, seconds: float = 180) -> int:
    """Anonymise the customers inactive for TSUNAGU_RETENTION_INACTIVE_YEARS (off when 0), chunk by chunk, each in
    its own transaction with its request record (kind retention, handled by the policy), until none is left or
    ``seconds`` have passed (inside the task's time limit): the next run goes on where this one stopped."""
    started = time.monotonic()
    done = 0
    while time.monotonic() - started < seconds:
        ids = list(retention_candidates(now=now).values_list("pk", flat=True)[:chunk])
        if not ids:
            break
        done += sum(_retention_anonymise_one(customer_id) for customer_id in ids)
    if done:
        logger.info("retention policy anonymised customers=%s", done)
    return done


@transaction.atomic
def _retention_anonymise_one(customer_id: int) -> int:
    customer = Customer.objects.select_for_update().filter(pk=customer_id).first()
    if customer is None or already_anonymised(customer_id):
        return 0
    counts = customer_anonymise(customer=customer)
    now = timezone.now()
    DataRequest.objects.create(
        kind=DataRequest.Kind.RETENTION,
        customer=customer,
        customer_ref=customer_id,
        status=DataRequest.Status.COMPLETED,
        received_via=DataRequest.Via.POLICY,
        handled_by=None,
        outcome=counts,
        requested_at=now,
        completed_at=now,
    )
    return 1
