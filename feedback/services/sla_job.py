"""The periodic SLA job: set-based and idempotent. One warning per ticket and kind (a unique constraint),
and staff are told about each warning once."""

from __future__ import annotations

import datetime as dt
import heapq
import logging
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage, get_connection
from django.db import connection, transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from customers.roles import MANAGER

from ..models import CLOCK_STATUSES, SlaPolicy, SlaWarning, Ticket, format_reference
from .delivery import site_url

logger = logging.getLogger(__name__)


User = get_user_model()


SLA_CHUNK = 5_000
NOTIFY_MAX = 50_000
DIGEST_LINES = 50


@dataclass
class SlaCheckResult:
    warned_soon: int = 0
    first_response_breaches: int = 0
    resolution_breaches: int = 0
    notified_warnings: int = 0
    emails: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "warned_soon": self.warned_soon,
            "first_response_breaches": self.first_response_breaches,
            "resolution_breaches": self.resolution_breaches,
            "notified_warnings": self.notified_warnings,
            "emails": self.emails,
        }


# The deadlines the job watches: (kind of breach warning, due field, done field, breach flag).
DEADLINES = [
    (SlaWarning.Kind.FIRST_RESPONSE_BREACHED, "first_response_due_at", "first_responded_at", "first_response_breached"),
    (SlaWarning.Kind.RESOLUTION_BREACHED, "resolution_due_at", "resolved_at", "resolution_breached"),
]


def sla_check(*, now: dt.datetime | None = None) -> SlaCheckResult:
    """The periodic SLA job: raise the warnings that are due, flag breaches, tell the assignee and managers.

    Set-based and index-driven: on PostgreSQL one statement per kind of warning (an ``UPDATE … RETURNING``
    feeding an ``INSERT … ON CONFLICT DO NOTHING``), each reading a partial index of the open tickets whose
    deadline is unmet and unflagged, so a run costs what is new since the last one. Safe to run twice or
    in parallel: a breach flag is set once (the ``UPDATE`` only takes unflagged rows), each warning exists
    once per ticket and kind (a unique constraint), and each is mailed once (``sla_warnings_notify``).
    """
    now = now or timezone.now()
    result = SlaCheckResult()
    with transaction.atomic():
        result.warned_soon = _sla_warn_soon(now)
    for kind, due_field, done_field, flag in DEADLINES:
        with transaction.atomic():
            count = _sla_breaches(now, kind=kind, due_field=due_field, done_field=done_field, flag=flag)
        if kind == SlaWarning.Kind.FIRST_RESPONSE_BREACHED:
            result.first_response_breaches = count
        else:
            result.resolution_breaches = count
    result.notified_warnings, result.emails = sla_warnings_notify(now=now)
    return result


def _warn_window() -> dt.timedelta:
    """The longest warning window of any policy: a deadline is "soon" at most this long before it."""
    longest = SlaPolicy.objects.aggregate(m=Max("warn_before_minutes"))["m"] or 0
    return dt.timedelta(minutes=longest)


def _sla_warn_soon(now: dt.datetime) -> int:
    """Deadlines in their warning window: the clock runs, the warning time passed, the deadline not yet.

    The warning times looked at are bounded below by the longest window, so the index range holds only the
    tickets entering their window, not every overdue one.
    """
    since = now - _warn_window()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO feedback_slawarning (ticket_id, kind, due_at, created_at, notified_at)
                SELECT id,
                       CASE WHEN first_responded_at IS NULL THEN %(first)s ELSE %(resolution)s END,
                       next_due_at, %(now)s, NULL
                FROM feedback_ticket
                WHERE status IN ('new', 'open') AND next_warn_at <= %(now)s AND next_warn_at >= %(since)s
                  AND next_due_at > %(now)s
                ON CONFLICT (ticket_id, kind) DO NOTHING
                """,
                {
                    "first": SlaWarning.Kind.FIRST_RESPONSE_SOON,
                    "resolution": SlaWarning.Kind.RESOLUTION_SOON,
                    "now": now,
                    "since": since,
                },
            )
            return max(cursor.rowcount, 0)
    candidates = {
        (pk, SlaWarning.Kind.FIRST_RESPONSE_SOON if responded is None else SlaWarning.Kind.RESOLUTION_SOON): due
        for pk, responded, due in Ticket.objects.filter(
            status__in=CLOCK_STATUSES, next_warn_at__lte=now, next_warn_at__gte=since, next_due_at__gt=now
        )
        .order_by()
        .values_list("pk", "first_responded_at", "next_due_at")
    }
    if not candidates:
        return 0
    raised = set(
        SlaWarning.objects.filter(
            ticket_id__in={pk for pk, _kind in candidates},
            kind__in=[SlaWarning.Kind.FIRST_RESPONSE_SOON, SlaWarning.Kind.RESOLUTION_SOON],
        ).values_list("ticket_id", "kind")
    )
    new = [
        SlaWarning(ticket_id=pk, kind=kind, due_at=due, created_at=now)
        for (pk, kind), due in candidates.items()
        if (pk, kind) not in raised
    ]
    SlaWarning.objects.bulk_create(new, ignore_conflicts=True, batch_size=SLA_CHUNK)
    return len(new)


def _sla_breaches(now: dt.datetime, *, kind: str, due_field: str, done_field: str, flag: str) -> int:
    """Flag the deadlines that passed unmet and raise one breach warning for each (once: see ``sla_check``)."""
    if connection.vendor == "postgresql":
        # Column names come from DEADLINES above, never from input.
        sql = f"""
            WITH flagged AS (
                UPDATE feedback_ticket SET {flag} = true
                WHERE status IN ('new', 'open') AND {done_field} IS NULL AND NOT {flag} AND {due_field} <= %(now)s
                RETURNING id, {due_field} AS due_at
            )
            INSERT INTO feedback_slawarning (ticket_id, kind, due_at, created_at, notified_at)
            SELECT id, %(kind)s, due_at, %(now)s, NULL FROM flagged
            ON CONFLICT (ticket_id, kind) DO NOTHING
        """  # noqa: S608
        with connection.cursor() as cursor:
            cursor.execute(sql, {"now": now, "kind": kind})
            return max(cursor.rowcount, 0)
    total = 0
    while True:
        rows = list(
            Ticket.objects.filter(
                **{f"{done_field}__isnull": True, flag: False, f"{due_field}__lte": now}, status__in=CLOCK_STATUSES
            )
            .order_by(due_field)
            .values_list("pk", due_field)[:SLA_CHUNK]
        )
        if not rows:
            return total
        Ticket.objects.filter(pk__in=[pk for pk, _due in rows]).update(**{flag: True})
        SlaWarning.objects.bulk_create(
            [SlaWarning(ticket_id=pk, kind=kind, due_at=due, created_at=now) for pk, due in rows],
            ignore_conflicts=True,
        )
        total += len(rows)


def _managers() -> list[Any]:

    return list(
        User.objects.filter(is_active=True, groups__name=MANAGER)
        .exclude(email="")
        .only("id", "email", "username", "first_name", "last_name")
        .distinct()
    )


@dataclass(frozen=True)
class _Told:
    ticket_id: int
    kind: str
    due_at: dt.datetime
    subject: str
    assignee_id: int | None


def sla_warnings_notify(*, now: dt.datetime | None = None) -> tuple[int, int]:
    """Mail the warnings not yet told: one digest per recipient (the assignee, and every manager).

    Returns (warnings told, mails sent). The warnings are claimed and marked in one statement (a parallel run
    claims none of them) and the mail goes out in the same transaction: if sending fails, nothing is marked
    and the next run tries again.
    """
    now = now or timezone.now()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    """
                    WITH claimed AS (
                        UPDATE feedback_slawarning SET notified_at = %(now)s
                        WHERE id IN (
                            SELECT id FROM feedback_slawarning WHERE notified_at IS NULL
                            ORDER BY created_at, id LIMIT %(limit)s FOR UPDATE SKIP LOCKED
                        )
                        RETURNING ticket_id, kind, due_at
                    )
                    SELECT c.ticket_id, c.kind, c.due_at, t.subject, t.assignee_id
                    FROM claimed c JOIN feedback_ticket t ON t.id = c.ticket_id
                    """,
                    {"now": now, "limit": NOTIFY_MAX},
                )
                told = [_Told(*row) for row in cursor.fetchall()]
        else:
            pending = list(
                SlaWarning.objects.filter(notified_at__isnull=True)
                .order_by("created_at", "id")
                .values_list("pk", "ticket_id", "kind", "due_at", "ticket__subject", "ticket__assignee_id")[:NOTIFY_MAX]
            )
            SlaWarning.objects.filter(pk__in=[row[0] for row in pending]).update(notified_at=now)
            told = [_Told(*row[1:]) for row in pending]
        if not told:
            return 0, 0
        managers = _managers()
        manager_ids = {m.pk for m in managers}
        assignee_ids = {w.assignee_id for w in told if w.assignee_id and w.assignee_id not in manager_ids}
        assignees = {
            u.pk: u
            for u in User.objects.filter(pk__in=assignee_ids, is_active=True)
            .exclude(email="")
            .only("id", "email", "username", "first_name", "last_name")
        }
        by_assignee: dict[int, list[_Told]] = defaultdict(list)
        for warning in told:
            if warning.assignee_id in assignees:
                by_assignee[warning.assignee_id].append(warning)
        mails = [_digest_mail(manager, told) for manager in managers]
        mails += [_digest_mail(assignees[pk], warnings) for pk, warnings in by_assignee.items()]
        if mails:
            with get_connection() as mail_connection:
                mail_connection.send_messages(mails)
    logger.info("sla warnings told n=%d mails=%d", len(told), len(mails))
    return len(told), len(mails)


def _digest_mail(user: Any, warnings: list[_Told]) -> EmailMessage:
    """A plain-text digest: the most urgent ``DIGEST_LINES`` warnings, and how many more."""
    tz = timezone.get_default_timezone()
    ticket_prefix = site_url(reverse("feedback:ticket_detail", args=[1]).removesuffix("1/"))
    with translation.override(settings.LANGUAGE_CODE):
        labels = {value: str(label) for value, label in SlaWarning.Kind.choices}
        breached = sum(1 for w in warnings if w.kind.endswith("breached"))
        subject = ngettext(
            "[%(shop)s] SLA: %(n)d ticket needs attention (%(breached)d overdue)",
            "[%(shop)s] SLA: %(n)d tickets need attention (%(breached)d overdue)",
            len(warnings),
        ) % {
            "shop": settings.TSUNAGU_SHOP_NAME,
            "n": len(warnings),
            "breached": breached,
        }
        top = heapq.nsmallest(DIGEST_LINES, warnings, key=lambda w: (w.due_at, w.ticket_id))
        lines = [
            f"{format_reference(w.ticket_id)} · {labels.get(w.kind, w.kind)} · "
            f"{w.due_at.astimezone(tz):%Y-%m-%d %H:%M} · {w.subject}\n  {ticket_prefix}{w.ticket_id}/"
            for w in top
        ]
        if len(warnings) > DIGEST_LINES:
            lines.append(_("… and %(n)d more: see the “Breaching soon” queue.") % {"n": len(warnings) - DIGEST_LINES})
        body = "\n".join(lines) + "\n\n" + site_url(reverse("feedback:queue") + "?queue=breaching") + "\n"
    return EmailMessage(subject=subject, body=body, to=[user.email])
