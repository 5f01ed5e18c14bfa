"""RFM scores: every buying customer scored 1–5 on recency, frequency and monetary value, and a named segment.

Definitions (the "about these figures" page shows them):

- **Purchases** are touchpoints whose type is of kind *purchase*; **returns** those of kind *return*
  (touchpoints/models.py, ``TouchpointType.Kind``). Amounts are in JPY.
- **Recency** is the number of days from the last purchase to today, both as dates in the business time zone
  (``TIME_ZONE``, Asia/Tokyo): a purchase at 23:30 yesterday in Tokyo is 1 day ago, one at 00:30 today is 0.
- **Frequency** is the number of purchases, all time. **Monetary** is net spend: purchases minus returns.
- **Who is scored**: customers with at least one purchase, unless their purchases were all returned (they
  have returns and a net spend of zero or less). Everyone else has no score row; a stale row (a customer
  merged away, or whose purchases were returned since) is deleted by the next scoring.
- **Scores** are quintiles among the scored customers: ``1 + floor(5 × (rank − 1) / n)``, where ``rank`` is the
  position of the customer's value (SQL ``RANK()``: ties share the rank of the first of them) in the order
  oldest-to-newest last purchase (R), fewest-to-most purchases (F), lowest-to-highest net spend (M), and ``n``
  the number of scored customers. So 5 is the most recent, most frequent, biggest spender; equal values always
  get equal scores, and a value shared by many customers takes the score where its group begins: when most
  customers bought once, they all have F = 1 and the next group jumps straight to a higher score.
- **Segments** are the common RFM grid on R and FM, the average of F and M rounded half up
  (``FM = (F + M + 1) // 2``), see ``SEGMENT_GRID``.
- **Previous scores**: ``previous_r_score`` and ``previous_segment`` are those of the last scoring on an
  earlier business day; ``segment_since`` is when the customer entered the segment (kept while it does not
  change). Scoring again on the same day changes nothing unless the touchpoints changed: the job is idempotent.

On PostgreSQL the nightly job is set-based SQL (one aggregate over the purchase and return touchpoints into a
temporary table, one ``INSERT … SELECT … ON CONFLICT DO UPDATE`` with window functions, one ``DELETE``), under a
transaction-level advisory lock so two runs never overlap. Other databases (the embedded SQLite default) use
``scores_refresh_python``, the same definitions in Python, fine at demo size.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.db.models import Count, ExpressionWrapper, F, Max, OuterRef, Q, Subquery, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.audit.services import touchpoint_undo_record
from customers.localtime import local_datetime, local_day_start
from customers.models import Customer, CustomerActivity
from feedback.sla import calendar_load
from touchpoints.models import Channel, Direction, Touchpoint, TouchpointType
from touchpoints.outreach.models import StaffTask
from touchpoints.outreach.rules import task_create
from touchpoints.services import touchpoint_record, touchpoint_retract

from .models import CONTACT_CONDITION, CustomerScore, Segment

logger = logging.getLogger(__name__)

ADVISORY_LOCK_KEY = 7_207_001  # pg_try_advisory_xact_lock key of the scoring job
BATCH_SIZE = 2000  # rows per bulk write in the Python path

# R (rows, 5 → 1) × FM (columns, 1 → 5).
SEGMENT_GRID: dict[int, tuple[Segment, Segment, Segment, Segment, Segment]] = {
    5: (Segment.NEW, Segment.POTENTIAL, Segment.POTENTIAL, Segment.CHAMPIONS, Segment.CHAMPIONS),
    4: (Segment.PROMISING, Segment.POTENTIAL, Segment.POTENTIAL, Segment.LOYAL, Segment.LOYAL),
    3: (Segment.ABOUT_TO_SLEEP, Segment.ABOUT_TO_SLEEP, Segment.NEEDS_ATTENTION, Segment.LOYAL, Segment.LOYAL),
    2: (Segment.HIBERNATING, Segment.HIBERNATING, Segment.AT_RISK, Segment.AT_RISK, Segment.CANT_LOSE),
    1: (Segment.LOST, Segment.HIBERNATING, Segment.AT_RISK, Segment.AT_RISK, Segment.CANT_LOSE),
}

SEGMENT_DEFINITIONS: list[tuple[Segment, str]] = [
    (Segment.CHAMPIONS, _("Bought very recently (R 5), often and for a lot (FM 4–5).")),
    (Segment.LOYAL, _("Buy often and spend a lot (FM 4–5), not quite the most recent (R 3–4).")),
    (Segment.POTENTIAL, _("Recent buyers (R 4–5) with average frequency and spend (FM 2–3).")),
    (Segment.NEW, _("Bought very recently (R 5), but little so far (FM 1).")),
    (Segment.PROMISING, _("Recent buyers (R 4) who have bought little so far (FM 1).")),
    (Segment.NEEDS_ATTENTION, _("Average on every score (R 3, FM 3).")),
    (Segment.ABOUT_TO_SLEEP, _("Below-average recency (R 3) and little bought (FM 1–2).")),
    (Segment.AT_RISK, _("Bought a fair amount (FM 3–4) but not for a long time (R 1–2).")),
    (Segment.CANT_LOSE, _("Among the biggest buyers (FM 5) but not for a long time (R 1–2).")),
    (Segment.HIBERNATING, _("Long gone (R 1–2) and bought little (FM 1–2), but not both at the bottom.")),
    (Segment.LOST, _("The longest gone (R 1) and the least bought (FM 1).")),
]

# The "who to contact this week" list: valuable customers whose recency is slipping.
CONTACT_SEGMENTS = (Segment.CANT_LOSE, Segment.AT_RISK, Segment.ABOUT_TO_SLEEP)
SLIPPING_SEGMENTS = (Segment.CHAMPIONS, Segment.LOYAL)  # listed when their R score dropped since the last scoring


def segment_for(r_score: int, f_score: int, m_score: int) -> Segment:
    return SEGMENT_GRID[r_score][(f_score + m_score + 1) // 2 - 1]


def quintile(rank: int, total: int) -> int:
    """The score of a value whose ``RANK()`` (1-based, ties share the first rank) is ``rank`` among ``total``."""
    return 1 + (5 * (rank - 1)) // total


@dataclass
class ScoringResult:
    scored: int = 0  # customers with a score after the run
    written: int = 0  # score rows inserted or changed
    deleted: int = 0  # stale rows removed
    skipped: bool = False  # another run held the lock
    seconds: float = 0.0


def scores_refresh(*, now: dt.datetime | None = None) -> ScoringResult:
    """Score every buying customer as of ``now`` (default: now); see the module docstring for the rules."""
    now = now or timezone.now()
    started = time.monotonic()
    result = _scores_refresh_postgresql(now) if connection.vendor == "postgresql" else scores_refresh_python(now=now)
    result.seconds = round(time.monotonic() - started, 3)
    logger.info(
        "scores refreshed scored=%s written=%s deleted=%s skipped=%s in %.1fs",
        result.scored,
        result.written,
        result.deleted,
        result.skipped,
        result.seconds,
    )
    return result


def _type_ids() -> tuple[list[int], list[int]]:
    purchase, refund = [], []
    for pk, kind in TouchpointType.objects.filter(
        kind__in=[TouchpointType.Kind.PURCHASE, TouchpointType.Kind.RETURN]
    ).values_list("pk", "kind"):
        (purchase if kind == TouchpointType.Kind.PURCHASE else refund).append(pk)
    return purchase, refund


_FM = "((f_score + m_score + 1) / 2)"
_SEGMENT_SQL = (
    "CASE "
    + " ".join(
        f"WHEN r_score = {r} AND {_FM} = {fm} THEN '{segment.value}'"
        for r, row in SEGMENT_GRID.items()
        for fm, segment in enumerate(row, start=1)
    )
    + " END"
)


@transaction.atomic
def _scores_refresh_postgresql(now: dt.datetime) -> ScoringResult:
    purchase_ids, return_ids = _type_ids()
    today = timezone.localdate(now)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [ADVISORY_LOCK_KEY])
        if not cursor.fetchone()[0]:
            logger.warning("scores refresh skipped: another run holds the lock")
            return ScoringResult(skipped=True)
        cursor.execute("SET LOCAL work_mem = '256MB'")
        # 1. One aggregate per customer over the purchase and return touchpoints (touchpoint_type_idx finds them).
        cursor.execute("DROP TABLE IF EXISTS pg_temp.crm_scoring_input")  # a second run in the same transaction
        cursor.execute(
            """
            CREATE TEMP TABLE crm_scoring_input ON COMMIT DROP AS
            SELECT customer_id, last_purchase_at, frequency, GREATEST(purchased - returned, 0) AS monetary,
                   GREATEST(%(today)s::date - (last_purchase_at AT TIME ZONE %(tz)s)::date, 0) AS recency_days
            FROM (
                SELECT t.customer_id,
                       MAX(t.occurred_at) FILTER (WHERE t.type_id = ANY(%(purchase)s)) AS last_purchase_at,
                       COUNT(*) FILTER (WHERE t.type_id = ANY(%(purchase)s)) AS frequency,
                       COALESCE(SUM(t.amount) FILTER (WHERE t.type_id = ANY(%(purchase)s)), 0) AS purchased,
                       COALESCE(SUM(t.amount) FILTER (WHERE t.type_id = ANY(%(returns)s)), 0) AS returned,
                       COUNT(*) FILTER (WHERE t.type_id = ANY(%(returns)s)) AS returns
                FROM touchpoints_touchpoint t
                WHERE t.type_id = ANY(%(types)s)
                GROUP BY t.customer_id
            ) a
            WHERE frequency > 0 AND NOT (returns > 0 AND purchased - returned <= 0)
            """,
            {
                "today": today,
                "tz": settings.TIME_ZONE,
                "purchase": purchase_ids,
                "returns": return_ids,
                "types": purchase_ids + return_ids,
            },
        )
        scored = cursor.rowcount
        cursor.execute("ALTER TABLE crm_scoring_input ADD PRIMARY KEY (customer_id)")
        cursor.execute("ANALYZE crm_scoring_input")
        # 2. Quintiles and segments, upserted; a row scored earlier today is rewritten only if it changed.
        cursor.execute(
            f"""
            INSERT INTO crm_customerscore AS s (
                customer_id, last_purchase_at, recency_days, frequency, monetary, r_score, f_score, m_score,
                segment, previous_r_score, previous_segment, segment_since, scored_at
            )
            SELECT customer_id, last_purchase_at, recency_days, frequency, monetary, r_score, f_score, m_score,
                   {_SEGMENT_SQL}, NULL, '', %(now)s, %(now)s
            FROM (
                SELECT i.*,
                       1 + (5 * (RANK() OVER (ORDER BY recency_days DESC) - 1)) / n AS r_score,
                       1 + (5 * (RANK() OVER (ORDER BY frequency) - 1)) / n AS f_score,
                       1 + (5 * (RANK() OVER (ORDER BY monetary) - 1)) / n AS m_score
                FROM crm_scoring_input i, (SELECT GREATEST(COUNT(*), 1) AS n FROM crm_scoring_input) c
            ) ranked
            ON CONFLICT (customer_id) DO UPDATE SET
                last_purchase_at = EXCLUDED.last_purchase_at,
                recency_days = EXCLUDED.recency_days,
                frequency = EXCLUDED.frequency,
                monetary = EXCLUDED.monetary,
                r_score = EXCLUDED.r_score,
                f_score = EXCLUDED.f_score,
                m_score = EXCLUDED.m_score,
                segment = EXCLUDED.segment,
                previous_r_score = CASE WHEN s.scored_at >= %(day_start)s THEN s.previous_r_score ELSE s.r_score END,
                previous_segment = CASE WHEN s.scored_at >= %(day_start)s THEN s.previous_segment ELSE s.segment END,
                segment_since = CASE WHEN s.segment = EXCLUDED.segment THEN s.segment_since ELSE %(now)s END,
                scored_at = %(now)s
            WHERE s.scored_at < %(day_start)s
               OR (s.last_purchase_at, s.recency_days, s.frequency, s.monetary, s.r_score, s.f_score, s.m_score,
                   s.segment)
                  IS DISTINCT FROM
                  (EXCLUDED.last_purchase_at, EXCLUDED.recency_days, EXCLUDED.frequency, EXCLUDED.monetary,
                   EXCLUDED.r_score, EXCLUDED.f_score, EXCLUDED.m_score, EXCLUDED.segment)
            """,  # noqa: S608 - only the constant SEGMENT_GRID is interpolated
            {"now": now, "day_start": local_day_start(today)},
        )
        written = cursor.rowcount
        # 3. Stale rows: customers who no longer qualify.
        cursor.execute(
            """
            DELETE FROM crm_customerscore s
            WHERE NOT EXISTS (SELECT 1 FROM crm_scoring_input i WHERE i.customer_id = s.customer_id)
            """
        )
        deleted = cursor.rowcount
    return ScoringResult(scored=scored, written=written, deleted=deleted)


def _ranks(values: dict[int, object], *, descending: bool = False) -> dict[int, int]:
    """SQL RANK() of each key's value: 1-based, ties share the rank of the first of them."""
    ordered = sorted(values.items(), key=lambda kv: kv[1], reverse=descending)
    ranks: dict[int, int] = {}
    previous, rank = object(), 0
    for position, (key, value) in enumerate(ordered, start=1):
        if value != previous:
            rank, previous = position, value
        ranks[key] = rank
    return ranks


@transaction.atomic
def scores_refresh_python(*, now: dt.datetime | None = None) -> ScoringResult:
    """The same scoring in Python, for databases without the SQL path (SQLite, the embedded default)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    day_start = local_day_start(today)
    purchase_ids, return_ids = _type_ids()
    is_purchase, is_return = Q(type_id__in=purchase_ids), Q(type_id__in=return_ids)
    rows = (
        Touchpoint.objects.filter(type_id__in=purchase_ids + return_ids)
        .order_by()
        .values("customer_id")
        .annotate(
            last_purchase_at=Max("occurred_at", filter=is_purchase),
            frequency=Count("id", filter=is_purchase),
            purchased=Sum("amount", filter=is_purchase),
            returned=Sum("amount", filter=is_return),
            returns=Count("id", filter=is_return),
        )
    )
    inputs: dict[int, dict] = {}
    for row in rows:
        purchased, returned = row["purchased"] or Decimal(0), row["returned"] or Decimal(0)
        if not row["frequency"] or (row["returns"] and purchased - returned <= 0):
            continue
        last_day = timezone.localdate(row["last_purchase_at"])
        inputs[row["customer_id"]] = {
            "last_purchase_at": row["last_purchase_at"],
            "recency_days": max((today - last_day).days, 0),
            "frequency": row["frequency"],
            "monetary": max(purchased - returned, Decimal(0)).quantize(Decimal("0.01")),
        }
    n = max(len(inputs), 1)
    r_rank = _ranks({pk: v["recency_days"] for pk, v in inputs.items()}, descending=True)
    f_rank = _ranks({pk: v["frequency"] for pk, v in inputs.items()})
    m_rank = _ranks({pk: v["monetary"] for pk, v in inputs.items()})
    existing = {s.customer_id: s for s in CustomerScore.objects.all()}
    fields = ["last_purchase_at", "recency_days", "frequency", "monetary", "r_score", "f_score", "m_score", "segment"]
    to_create, to_update = [], []
    for pk, values in inputs.items():
        r, f, m = quintile(r_rank[pk], n), quintile(f_rank[pk], n), quintile(m_rank[pk], n)
        new = {**values, "r_score": r, "f_score": f, "m_score": m, "segment": segment_for(r, f, m).value}
        old = existing.get(pk)
        if old is None:
            to_create.append(
                CustomerScore(customer_id=pk, previous_segment="", segment_since=now, scored_at=now, **new)
            )
            continue
        if old.scored_at >= day_start and all(getattr(old, name) == new[name] for name in fields):
            continue
        if old.scored_at < day_start:
            old.previous_r_score, old.previous_segment = old.r_score, old.segment
        if old.segment != new["segment"]:
            old.segment_since = now
        for name, value in new.items():
            setattr(old, name, value)
        old.scored_at = now
        to_update.append(old)
    CustomerScore.objects.bulk_create(to_create, batch_size=BATCH_SIZE)
    CustomerScore.objects.bulk_update(
        to_update,
        [*fields, "previous_r_score", "previous_segment", "segment_since", "scored_at"],
        batch_size=BATCH_SIZE,
    )
    stale = [pk for pk in existing if pk not in inputs]
    for start in range(0, len(stale), BATCH_SIZE):
        CustomerScore.objects.filter(customer_id__in=stale[start : start + BATCH_SIZE]).delete()
    return ScoringResult(scored=len(inputs), written=len(to_create) + len(to_update), deleted=len(stale))


# --- "Who to contact this week": the one-click actions -------------------------------------------------------

CALL_TYPE_SLUG = "support"  # the catalogue type a call from the contact list is logged as (channel phone)
FOLLOW_UP_BUSINESS_DAYS = 2
FOLLOW_UP_DUE_TIME = dt.time(18, 0)  # the end of the working day, business time zone


def contact_queryset(*, segment: str = "", owner=None):
    """The contact list's rows: CONTACT_CONDITION (score_contact_idx), or one segment (score_segment_idx).

    A segment that is on the list (can't lose, at risk, about to sleep; champions and loyal whose R dropped) keeps
    the list's condition; any other segment lists the whole segment (the customer page links to it).
    """
    qs = CustomerScore.objects.all()
    if segment in (*CONTACT_SEGMENTS, *SLIPPING_SEGMENTS):
        qs = qs.filter(CONTACT_CONDITION, segment=segment)
    elif segment:
        qs = qs.filter(segment=segment)
    else:
        qs = qs.filter(CONTACT_CONDITION)
    if owner is not None:
        qs = qs.filter(customer__owner=owner)
    return contact_rows(qs)


class _DecimalAsText(models.DecimalField):
    """A decimal read back as text: the keyset cursor (customers/pagination.py) is JSON, which has no Decimal."""

    def from_db_value(self, value, expression, connection):
        return None if value is None else str(value)


def contact_rows(queryset):
    """The columns of a contact-list row: customer and owner joined, the customer's first open task as subqueries
    (task_customer_idx), and ``id`` (the customer's) for the keyset pagination. One query for any number of rows."""
    open_tasks = StaffTask.objects.filter(customer=OuterRef("customer_id"), status=StaffTask.Status.OPEN).order_by(
        "due_at", "id"
    )
    return queryset.select_related("customer", "customer__owner").annotate(
        id=F("customer_id"),
        # The same column as ``monetary`` (so ORDER BY uses score_contact_idx), for the keyset ordering.
        spend_key=ExpressionWrapper(F("monetary"), output_field=_DecimalAsText(max_digits=16, decimal_places=2)),
        open_task_id=Subquery(open_tasks.values("id")[:1]),
        open_task_due=Subquery(open_tasks.values("due_at")[:1]),
    )


def follow_up_due(now: dt.datetime) -> dt.datetime:
    """The end of the FOLLOW_UP_BUSINESS_DAYS-th working day after today (the feedback calendar; else Mon–Fri)."""
    calendar = calendar_load()
    day, left = timezone.localdate(now), FOLLOW_UP_BUSINESS_DAYS
    for _step in range(366):
        day += dt.timedelta(days=1)
        working = calendar.is_working_day(day) if calendar.has_hours else day.weekday() < 5
        left -= working
        if left == 0:
            break
    return local_datetime(day, FOLLOW_UP_DUE_TIME)


@transaction.atomic
def contact_followup_start(*, customer, by, now: dt.datetime | None = None):
    """A follow-up task for ``by`` on a customer of the contact list; returns (task, created).

    One open task per customer: if one is open already (from this list or anywhere else), it is returned and
    nothing is created, so a double click or two colleagues clicking at once make one task. The customer row is
    locked while checking, so concurrent requests wait for each other.
    """
    now = now or timezone.now()
    locked = Customer.objects.select_for_update().get(pk=customer.pk)
    existing = StaffTask.objects.filter(customer=locked, status=StaffTask.Status.OPEN).order_by("due_at", "id").first()
    if existing is not None:
        return existing, False
    score = CustomerScore.objects.filter(customer=locked).first()
    segment = score.get_segment_display() if score else ""
    title = _("Call %(name)s (%(segment)s)") % {"name": locked.display_name, "segment": segment}
    task = task_create(
        customer=locked, title=str(title), due_at=follow_up_due(now), by=by, assignee=by, channel="phone"
    )
    return task, True


class CallOutcome(models.TextChoices):
    REACHED = "reached", _("Talked to them")
    NO_ANSWER = "no_answer", _("No answer")
    VOICEMAIL = "voicemail", _("Left a message")
    CALL_BACK = "call_back", _("Asked to call back")


def contact_call_log(*, customer, by, key: str, summary: str = "", outcome: str = "", note: str = ""):
    """Log a phone call to a customer of the contact list on their timeline, with its outcome and a note; ``key``
    makes a retried POST a no-op."""
    if outcome and outcome not in CallOutcome.values:
        raise ValidationError(_("Choose how the call went."))
    note = " ".join((note or "").split())[:900]
    if outcome and not summary:
        label = str(CallOutcome(outcome).label)
        summary = f"{_('Call')}: {label}" + (f" — {note}" if note else "")
    elif note and not summary:
        summary = note
    touchpoint_type = TouchpointType.objects.filter(slug=CALL_TYPE_SLUG, is_active=True).first()
    if touchpoint_type is None:
        raise ValidationError(
            _("The touchpoint type for calls (%(slug)s) is missing or inactive.") % {"slug": CALL_TYPE_SLUG}
        )
    # What the customer's last activity was before the call, so that an undo can put it back.
    before = CustomerActivity.objects.filter(customer_id=customer.pk).values_list("last_activity_at", flat=True).first()
    return touchpoint_record(
        customer=customer,
        touchpoint_type=touchpoint_type,
        channel=Channel.PHONE,
        direction=Direction.OUTBOUND,
        summary=summary or str(_("Call from the contact list")),
        metadata={
            "from": "contact_list",
            **({"outcome": outcome} if outcome else {}),
            **({"activity_before": before.isoformat()} if before else {}),
        },
        idempotency_key=f"contact-call:{key}",
        by=by,
    )


CALL_UNDO_WINDOW = dt.timedelta(minutes=10)


def contact_call_undoable(touchpoint: Touchpoint, *, by, now: dt.datetime | None = None) -> bool:
    """Whether ``by`` may still undo this call: within CALL_UNDO_WINDOW, whoever logged it or a manager (who may delete
    touchpoints)."""
    now = now or timezone.now()
    if touchpoint.created_at < now - CALL_UNDO_WINDOW:
        return False
    return touchpoint.recorded_by_user_id == by.pk or by.has_perm("touchpoints.delete_touchpoint")


def contact_calls_undoable():
    """The calls logged from the contact list (an undo reaches nothing else)."""
    return Touchpoint.objects.filter(metadata__from="contact_list")


@transaction.atomic
def contact_call_undo(*, touchpoint_id: int, by, now: dt.datetime | None = None) -> Touchpoint:
    """Take back a call logged from the contact list by mistake: the touchpoint, the last activity it set and the
    follow-ups it scheduled go (touchpoints.services.touchpoint_retract), and the customer's change history records
    who undid which call. Raises Touchpoint.DoesNotExist for no such call (or one undone already), ValidationError
    when the window has closed or ``by`` may not."""
    now = now or timezone.now()
    touchpoint = contact_calls_undoable().select_for_update().get(pk=touchpoint_id)
    if touchpoint.created_at < now - CALL_UNDO_WINDOW:
        raise ValidationError(
            _("This call can no longer be undone (after %(minutes)d minutes).")
            % {"minutes": CALL_UNDO_WINDOW.seconds // 60}
        )
    if not contact_call_undoable(touchpoint, by=by, now=now):
        raise ValidationError(_("Only whoever logged the call or a manager may undo it."))
    before = (touchpoint.metadata or {}).get("activity_before")
    touchpoint_undo_record(touchpoint=touchpoint)
    touchpoint_retract(
        touchpoint=touchpoint, by=by, activity_before=dt.datetime.fromisoformat(before) if before else None
    )
    return touchpoint
