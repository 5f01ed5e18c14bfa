"""Broadcasts: one template to every customer of a segment, now or at a time.

Creating a broadcast writes one row. When it is due, ``broadcast_prepare`` (a task) walks the segment
in customer-id order, in chunks: each chunk's outbox rows (key ``broadcast:<id>:<customer>``, so a
customer gets it once) are inserted and the broadcast's cursor moved in one transaction, and the send
tasks are published after commit. A preparation that dies is resumed from its cursor by
``broadcasts_advance`` (every tick), which also starts due broadcasts and closes finished ones with
their final counts. Cancelling skips whatever is still queued.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Exists, F, Min, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Customer, Segment

from . import channels, placeholders
from .models import TEST_SOURCE, Broadcast, MessageChannel, MessageTemplate, OutboundMessage, Purpose
from .outbox import message_build, messages_insert, publish_on_commit
from .outbox.policy import UNSUBSCRIBE_SOURCE, line_users_attach

logger = logging.getLogger(__name__)

PREPARE_CHUNK = 2000
# A preparation whose heartbeat is older than this is taken to be dead and resumed.
PREPARE_STALE = dt.timedelta(minutes=2)
PENDING = [OutboundMessage.Status.QUEUED, OutboundMessage.Status.SENDING]
# What rendering and the consent check read (a placeholder needing more loads it; the built-in ones do not).
CUSTOMER_FIELDS = (
    "id",
    "family_name",
    "given_name",
    "family_name_kana",
    "given_name_kana",
    "email",
    "phone",
    "company",
    "preferred_language",
    "marketing_consent",
    "consent_source",
    "do_not_contact",
    "owner_id",
)


def _publish_prepare(broadcast_id: int) -> None:
    from .tasks import broadcast_prepare_task  # a cycle: the tasks import this module

    try:
        broadcast_prepare_task.apply_async(args=[broadcast_id], retry=True, retry_policy={"max_retries": 2})
    except Exception:  # the next tick of broadcasts_advance starts it
        logger.exception("broadcast %s: could not publish the prepare task", broadcast_id)


# --- Before sending: who will receive it, a sample, a test to oneself ------------------------------

Skip = OutboundMessage.SkipReason


@dataclass
class Audience:
    """Who a broadcast would reach now: the segment's customers, those it would send to, and those it would
    skip, by reason (the same rules as the outbox's, in the same order: do-not-contact, consent, the channel's
    own rules — an address for email; linked, following, not blocked and LINE news allowed for LINE — then the
    frequency cap). A "LINE if linked, otherwise email" template counts both: ``by_line`` of the recipients go
    by LINE, the others by email."""

    total: int
    recipients: int
    excluded: dict[str, int] = field(default_factory=dict)
    by_line: int = 0

    @property
    def by_email(self) -> int:
        return self.recipients - self.by_line

    @property
    def excluded_rows(self) -> list[tuple[str, int]]:
        """(reason label, count) of the reasons that exclude anyone, for the page."""
        return [(Skip(reason).label, n) for reason, n in self.excluded.items() if n]


def _recently_sent(days: int, now: dt.datetime):
    return Exists(
        OutboundMessage.objects.filter(
            customer_id=OuterRef("pk"),
            purpose=Purpose.MARKETING,
            status__in=[*PENDING, OutboundMessage.Status.SENT],
            created_at__gte=now - dt.timedelta(days=days),
        ).exclude(source_app=TEST_SOURCE)
    )


def _line_news_allowed() -> Coalesce:
    """The customer's newest choice on LINE news and offers; True when they made none (the marketing consent
    holds then, customers/consent.py, and every customer counted here has it). Never NULL, so ``~Q`` is safe."""
    from customers.models import ContactPreference

    newest = (
        ContactPreference.objects.filter(
            customer_id=OuterRef("pk"), channel=MessageChannel.LINE, purpose=ContactPreference.Purpose.NEWS
        )
        .order_by("-at", "-id")
        .values("allowed")[:1]
    )
    return Coalesce(Subquery(newest), Value(True))


def broadcast_audience(
    *,
    segment: Segment,
    cap_days: int = 0,
    now: dt.datetime | None = None,
    template: MessageTemplate | None = None,
) -> Audience:
    """Count the segment's customers a broadcast of ``template`` (email when None) would send to now, and those
    excluded and why (one query)."""
    from .line.pages import reachable_exists

    now = now or timezone.now()
    line_first = template is not None and template.line_first
    line_only = template is not None and template.channel == MessageChannel.LINE and not line_first
    # Without a LINE provider a LINE message is a staff task (no LINE rules) and "LINE if linked" goes by email.
    line_ready = (line_only or line_first) and channels.get(MessageChannel.LINE).provider_ready()
    dnc = Q(do_not_contact=True)
    opted_out = ~dnc & Q(marketing_consent=False, consent_source=UNSUBSCRIBE_SOURCE)
    no_consent = ~dnc & Q(marketing_consent=False) & ~Q(consent_source=UNSUBSCRIBE_SOURCE)
    reachable = ~dnc & Q(marketing_consent=True)
    customers = Customer.objects.in_segment(segment).order_by()
    nobody = Q(pk__isnull=True)  # a condition no row meets (portable, unlike an empty IN)
    no_address = line_unreachable = line_refused = by_line = nobody
    if line_only or line_first:
        customers = customers.annotate(line_news=_line_news_allowed())
    on_line = nobody
    if line_ready:  # annotated: an aggregate's filter cannot hold a subquery on the outer row
        customers = customers.annotate(on_line=reachable_exists())
        on_line = Q(on_line=True)
    if line_only:
        line_refused = reachable & Q(line_news=False)
        if line_ready:
            line_unreachable = reachable & Q(line_news=True) & ~on_line
        sendable = by_line = reachable & Q(line_news=True) & (on_line if line_ready else Q())
    elif line_first:
        line_refused = reachable & on_line & Q(line_news=False)
        by_line = reachable & on_line & Q(line_news=True)
        no_address = reachable & ~on_line & Q(email="")
        sendable = by_line | (reachable & ~on_line & ~Q(email=""))
    else:
        no_address = reachable & Q(email="")
        sendable = reachable & ~Q(email="")
    aggregates = {
        "total": Count("pk"),
        f"n_{Skip.DO_NOT_CONTACT.value}": Count("pk", filter=dnc),
        f"n_{Skip.OPTED_OUT.value}": Count("pk", filter=opted_out | line_refused),
        f"n_{Skip.NO_CONSENT.value}": Count("pk", filter=no_consent),
        f"n_{Skip.NO_ADDRESS.value}": Count("pk", filter=no_address),
        f"n_{Skip.LINE_UNREACHABLE.value}": Count("pk", filter=line_unreachable),
        "sendable": Count("pk", filter=sendable),
        "by_line": Count("pk", filter=by_line),
    }
    if cap_days:
        customers = customers.annotate(recent=_recently_sent(cap_days, now))
        aggregates[f"n_{Skip.CAPPED.value}"] = Count("pk", filter=sendable & Q(recent=True))
        aggregates["by_line_capped"] = Count("pk", filter=by_line & Q(recent=True))
    counts = customers.aggregate(**aggregates)
    capped = counts.get(f"n_{Skip.CAPPED.value}", 0)
    reasons = (Skip.DO_NOT_CONTACT, Skip.OPTED_OUT, Skip.NO_CONSENT, Skip.NO_ADDRESS)
    reasons += (Skip.LINE_UNREACHABLE, Skip.CAPPED) if line_only else (Skip.CAPPED,)
    excluded = {reason.value: counts.get(f"n_{reason.value}", 0) for reason in reasons}
    return Audience(
        total=counts["total"],
        recipients=counts["sendable"] - capped,
        excluded=excluded,
        by_line=counts["by_line"] - counts.get("by_line_capped", 0),
    )


def broadcast_sample(*, segment: Segment) -> Customer | None:
    """A customer the broadcast would reach (the first by id), to preview the message with; else any one."""
    customers = Customer.objects.in_segment(segment).order_by("pk")
    return customers.filter(do_not_contact=False, marketing_consent=True).exclude(email="").first() or customers.first()


@transaction.atomic
def broadcast_test_send(
    *, template: MessageTemplate, customer: Customer, by: AbstractBaseUser, now: dt.datetime | None = None
) -> OutboundMessage:
    """Send the template, filled in for ``customer``, to the staff member ``by`` (through the outbox, marked as a
    test): nothing reaches the customer, nothing is counted against them or put on their timeline."""
    now = now or timezone.now()
    address = (getattr(by, "email", "") or "").strip()
    if not address:
        raise ValidationError(_("Your account has no email address to send the test to."))
    key = f"test:{by.pk}:{template.pk}:{uuid.uuid4().hex}"
    prepared = message_build(
        customer=customer, key=key, purpose=Purpose.TRANSACTIONAL, template=template, now=now, source_app=TEST_SOURCE
    )
    message = prepared.as_model()
    # A service message in form only: no quiet hours, no unsubscribe link that would unsubscribe the customer.
    message.purpose = Purpose.TRANSACTIONAL
    message.to_address = address
    message.subject = (_("[Test] %(subject)s") % {"subject": message.subject})[:300]
    message.status = OutboundMessage.Status.QUEUED
    message.skip_reason = ""
    message.next_attempt_at = message.enqueued_at = now
    message.source_ref = f"user:{by.pk}"
    message.save(force_insert=True)
    publish_on_commit([message.pk])
    logger.info("broadcast test sent message=%s template=%s by=%s", message.pk, template.pk, by.pk)
    return message


# --- Creating, cancelling, preparing -------------------------------------------------------------


@transaction.atomic
def broadcast_create(
    *,
    name: str,
    template: MessageTemplate,
    segment: Segment,
    by: AbstractBaseUser | None,
    send_at: dt.datetime | None = None,
    cap_days: int = 0,
    expected_recipients: int | None = None,
    now: dt.datetime | None = None,
) -> Broadcast:
    """Create (and, when due, start) a broadcast. ``expected_recipients`` is the count staff confirmed
    ("send to N customers?"): when the audience is no longer N, nothing is created and the error says so."""
    now = now or timezone.now()
    name = " ".join((name or "").split())
    errors = {}
    if expected_recipients is not None:
        audience = broadcast_audience(segment=segment, cap_days=cap_days, now=now, template=template)
        if audience.recipients != expected_recipients:
            raise ValidationError(
                _(
                    "The audience changed since you checked it: it is now %(now)d customers, not %(then)d. "
                    "Check it again and confirm."
                )
                % {"now": audience.recipients, "then": expected_recipients},
                code="audience_changed",
            )
    if not name:
        errors["name"] = _("Give the broadcast a name.")
    if not template.is_active:
        errors["template"] = _("This template is switched off.")
    elif template.channel not in (MessageChannel.EMAIL, MessageChannel.LINE) and not template.line_first:
        errors["template"] = _("Broadcasts send email and LINE templates only.")
    elif template.purpose != Purpose.MARKETING:
        # A broadcast is marketing whatever its text: a service message would reach customers who never consented.
        errors["template"] = _("Broadcasts send marketing templates only.")
    elif placeholders.needs_context(template):
        errors["template"] = _("This template needs details a broadcast does not have (a ticket or a survey).")
    if not errors and (template.channel == MessageChannel.LINE or template.line_first):
        problem = line_quota_problem(segment)
        if problem:
            errors["segment"] = problem
    if errors:
        raise ValidationError(errors)
    broadcast = Broadcast.objects.create(
        name=name[:100],
        template=template,
        segment=segment,
        send_at=send_at or now,
        cap_days=cap_days,
        created_by=by,
    )
    if broadcast.send_at <= now:
        transaction.on_commit(lambda: _publish_prepare(broadcast.pk))
    logger.info("broadcast created id=%s segment=%s by=%s", broadcast.pk, segment.pk, getattr(by, "pk", None))
    return broadcast


@transaction.atomic
def broadcast_cancel(*, broadcast: Broadcast, by: AbstractBaseUser | None, now: dt.datetime | None = None) -> int:
    """Stop the broadcast: nothing more is prepared, and its queued messages are skipped (cancelled)."""
    now = now or timezone.now()
    changed = Broadcast.objects.filter(
        pk=broadcast.pk, status__in=[Broadcast.Status.SCHEDULED, Broadcast.Status.PREPARING, Broadcast.Status.SENDING]
    ).update(status=Broadcast.Status.CANCELLED, finished_at=now)
    if not changed:
        raise ValidationError(_("This broadcast has already finished."))
    stopped = OutboundMessage.objects.filter(broadcast=broadcast, status=OutboundMessage.Status.QUEUED).update(
        status=OutboundMessage.Status.SKIPPED,
        skip_reason=OutboundMessage.SkipReason.CANCELLED,
        enqueued_at=None,
        updated_at=now,
    )
    Broadcast.objects.filter(pk=broadcast.pk).update(counts=broadcast_counts(broadcast))
    logger.info("broadcast cancelled id=%s stopped=%d by=%s", broadcast.pk, stopped, getattr(by, "pk", None))
    return stopped


def line_quota_problem(segment: Segment) -> str:
    """Why a LINE broadcast to ``segment`` would exceed this month's LINE quota ("" when it fits or the plan is
    unlimited). Every recipient of a multicast counts as one message."""
    from .line.pages import quota, reachable_q

    left = quota()
    if left is None or left["left"] is None:
        return ""
    needed = Customer.objects.in_segment(segment).filter(reachable_q()).order_by().count()
    if needed <= left["left"]:
        return ""
    return _(
        "This broadcast needs %(needed)d LINE messages but only %(left)d are left this month (plan limit %(limit)d). "
        "Narrow the segment, or send it next month."
    ) % {"needed": needed, "left": left["left"], "limit": left["limit"]}


def broadcast_counts(broadcast: Broadcast) -> dict[str, int]:
    """Messages by status (one query on outbox_broadcast_idx)."""
    counts = dict.fromkeys(OutboundMessage.Status.values, 0)
    rows = OutboundMessage.objects.filter(broadcast=broadcast).values_list("status").annotate(n=Count("id"))
    for status, n in rows.order_by():
        counts[status] = n
    return counts


def _recent_marketing(customer_ids: list[int], *, days: int, now: dt.datetime) -> set[int]:
    if not days or not customer_ids:
        return set()
    return set(
        OutboundMessage.objects.filter(
            customer_id__in=customer_ids,
            purpose=Purpose.MARKETING,
            status__in=[*PENDING, OutboundMessage.Status.SENT],
            created_at__gte=now - dt.timedelta(days=days),
        ).values_list("customer_id", flat=True)
    )


def broadcast_prepare(*, broadcast_id: int, now: dt.datetime | None = None, chunk: int = PREPARE_CHUNK) -> int:
    """Write the broadcast's outbox rows, chunk by chunk, resuming from its cursor. Returns the rows
    prepared by this run (0 when the broadcast is not due, already being prepared, or finished)."""
    started = now or timezone.now()
    claimed = (
        Broadcast.objects.filter(pk=broadcast_id)
        .filter(
            Q(status=Broadcast.Status.SCHEDULED, send_at__lte=started)
            | Q(status=Broadcast.Status.PREPARING, heartbeat_at__lt=started - PREPARE_STALE)
        )
        .update(status=Broadcast.Status.PREPARING, started_at=Coalesce(F("started_at"), started), heartbeat_at=started)
    )
    if not claimed:
        return 0
    broadcast = Broadcast.objects.select_related("template", "segment").get(pk=broadcast_id)
    if broadcast.segment is None:  # deleted since: nothing more is prepared
        Broadcast.objects.filter(pk=broadcast.pk).update(status=Broadcast.Status.SENDING, prepared_at=started)
        return 0
    if not broadcast.total:
        broadcast.total = Customer.objects.in_segment(broadcast.segment).order_by().count()
        Broadcast.objects.filter(pk=broadcast.pk).update(total=broadcast.total)
    template = broadcast.template
    prepared = 0
    cursor = broadcast.cursor
    while True:
        tick = now or timezone.now()
        customers = list(
            Customer.objects.in_segment(broadcast.segment)
            .filter(pk__gt=cursor)
            .order_by("pk")
            .only(*CUSTOMER_FIELDS)[:chunk]
        )
        if not customers:
            break
        capped = _recent_marketing([c.pk for c in customers], days=broadcast.cap_days, now=tick)
        if template.channel == MessageChannel.LINE or template.line_first:
            line_users_attach(customers)  # one query for the chunk's LINE users, not one per customer
        # Placeholders of other apps ({points_balance}…) are read once for the chunk, not once per message.
        with placeholders.bulk(c.pk for c in customers):
            messages = [
                message_build(
                    customer=customer,
                    key=f"broadcast:{broadcast.pk}:{customer.pk}",
                    purpose=template.purpose,
                    template=template,
                    now=tick,
                    source_app="touchpoints",
                    source_ref=f"broadcast:{broadcast.pk}",
                    capped=customer.pk in capped,
                    broadcast_id=broadcast.pk,
                )
                for customer in customers
            ]
        with transaction.atomic():
            alive = (
                Broadcast.objects.select_for_update()
                .filter(pk=broadcast.pk, status=Broadcast.Status.PREPARING)
                .values_list("pk", flat=True)
                .first()
            )
            if alive is None:  # cancelled meanwhile
                return prepared
            ids = messages_insert(messages, now=tick)
            cursor = customers[-1].pk
            Broadcast.objects.filter(pk=broadcast.pk).update(
                cursor=cursor, prepared_count=F("prepared_count") + len(customers), heartbeat_at=timezone.now()
            )
            publish_on_commit(ids)
        prepared += len(customers)
        if len(customers) < chunk:
            break
    Broadcast.objects.filter(pk=broadcast.pk, status=Broadcast.Status.PREPARING).update(
        status=Broadcast.Status.SENDING, prepared_at=now or timezone.now()
    )
    logger.info("broadcast prepared id=%s rows=%d", broadcast.pk, prepared)
    return prepared


def broadcasts_advance(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Every tick: start due broadcasts, resume stalled preparations, close finished broadcasts."""
    now = now or timezone.now()
    due = list(
        Broadcast.objects.filter(
            Q(status=Broadcast.Status.SCHEDULED, send_at__lte=now)
            | Q(status=Broadcast.Status.PREPARING, heartbeat_at__lt=now - PREPARE_STALE)
        ).values_list("pk", flat=True)
    )
    for pk in due:
        _publish_prepare(pk)
    finished = 0
    for broadcast in Broadcast.objects.filter(status=Broadcast.Status.SENDING):
        if OutboundMessage.objects.filter(broadcast=broadcast, status__in=PENDING).exists():
            continue
        finished += Broadcast.objects.filter(pk=broadcast.pk, status=Broadcast.Status.SENDING).update(
            status=Broadcast.Status.DONE, finished_at=now, counts=broadcast_counts(broadcast)
        )
    return {"started": len(due), "finished": finished}


def broadcast_held(broadcast: Broadcast) -> tuple[int, dt.datetime | None]:
    """(how many, until when) of the broadcast's queued messages wait for the quiet hours to end."""
    row = OutboundMessage.objects.filter(
        broadcast=broadcast, status=OutboundMessage.Status.QUEUED, skip_reason=Skip.QUIET_HOURS
    ).aggregate(n=Count("id"), until=Min("next_attempt_at"))
    return row["n"], row["until"]
