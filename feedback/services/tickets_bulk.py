"""Actions on many tickets at once, one statement each."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Case, F, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import events
from ..models import NO_DEADLINE, Status, Ticket
from .delivery import _after_commit
from .validation import BULK_MAX, _check_assignee

logger = logging.getLogger(__name__)


@transaction.atomic
def tickets_bulk_assign(
    *, ticket_ids: Sequence[int], assignee: AbstractBaseUser | None, by: AbstractBaseUser | None
) -> int:
    """Assign (or unassign) many tickets in one statement; closed tickets are left alone."""
    _check_assignee(assignee)
    ids = _bulk_ids(ticket_ids)
    count = (
        Ticket.objects.filter(pk__in=ids)
        .exclude(status=Status.CLOSED)
        .update(assignee=assignee, updated_at=timezone.now())
    )
    logger.info("tickets assigned n=%d to=%s by=%s", count, getattr(assignee, "pk", None), getattr(by, "pk", None))
    return count


@transaction.atomic
def tickets_bulk_close(
    *, ticket_ids: Sequence[int], by: AbstractBaseUser | None, now: dt.datetime | None = None
) -> int:
    """Close many tickets in one statement (no CSAT: closing is not resolving). Closed ones stay as they are."""
    ids = _bulk_ids(ticket_ids)
    now = now or timezone.now()
    rows = list(
        Ticket.objects.select_for_update()
        .filter(pk__in=ids)
        .exclude(status=Status.CLOSED)
        .order_by("pk")
        .values_list("pk", "status")
    )
    if not rows:
        return 0
    count = Ticket.objects.filter(pk__in=[pk for pk, _status in rows]).update(
        status=Status.CLOSED,
        closed_at=now,
        resolution_breached=Case(
            When(resolved_at__isnull=True, resolution_due_at__lt=now, sla_paused_at__isnull=True, then=Value(True)),
            default=F("resolution_breached"),
        ),
        resolved_at=Coalesce(F("resolved_at"), Value(now)),
        sla_paused_at=None,
        next_due_at=NO_DEADLINE,
        next_warn_at=NO_DEADLINE,
        updated_at=now,
    )
    for pk, from_status in rows:
        _after_commit(
            events.ticket_status_changed, ticket=Ticket(pk=pk), from_status=from_status, to_status=Status.CLOSED
        )
    logger.info("tickets closed n=%d by=%s", count, getattr(by, "pk", None))
    return count


def _bulk_ids(ticket_ids: Sequence[int]) -> list[int]:
    ids = sorted({int(pk) for pk in ticket_ids if 0 < int(pk) < 2**63})
    if len(ids) > BULK_MAX:
        raise ValidationError(_("Choose at most %(n)d tickets at once.") % {"n": BULK_MAX})
    return ids
