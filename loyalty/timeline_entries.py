"""Points and greetings on the customer timeline: their rows (only the columns shown) and their HTML, written once
per page the way ``loyalty/includes/_timeline_entry.html`` and ``_timeline_greeting.html`` write one entry.

A customer who never joined a programme costs the timeline no loyalty query: the providers declare
``select_related=("loyalty_account",)``, so the timeline's customer query tells whether there is anything to ask."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import QuerySet
from django.utils import formats
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from customers import timeline
from touchpoints.outreach.models import OutboundMessage

from .models import Greeting, LedgerEntry
from .panels import loyalty_account
from .templatetags.loyalty import signed_points

LEDGER_FIELDS = (
    "kind",
    "points",
    "reason",
    "reason_key",
    "reason_params",
    "source",
    "expires_on",
    "created_at",
    "membership__programme__name",
    "redemption__voucher_code",
    "by__username",
    "by__first_name",
    "by__last_name",
)
GREETING_FIELDS = (
    "kind",
    "status",
    "detail",
    "occasion",
    "bonus_points",
    "error",
    "created_at",
    "membership__programme__name",
)

LEDGER_HTML = """
<span class="timeline-icon"><i class="bi bi-stars text-warning" aria-hidden="true"></i></span>
<div class="small text-body-secondary">
  <strong class="text-body">{kind}</strong>
  <span class="loyalty-points {points_class}">{points} {points_label}</span>
  · {programme}
  · {time}
  · {by}
</div>
<div class="timeline-body">{reason}{voucher}{valid_until}</div>
"""
VOUCHER_HTML = " · {} <code>{}</code>"
AFTER_DOT_HTML = " · {}"

GREETING_HTML = """
<span class="timeline-icon"><i class="bi bi-gift text-danger" aria-hidden="true"></i></span>
<div class="small text-body-secondary">
  <strong class="text-body">{kind}</strong>
  · {programme}
  · {time}
  · {status}
</div>
<div class="timeline-body">{what}{bonus}</div>
"""


def ledger_rows(customer: Any, filters: dict[str, str]) -> QuerySet | None:
    if loyalty_account(customer) is None:
        return None
    return (
        LedgerEntry.objects.for_customer(customer)
        .select_related("membership__programme", "redemption", "by")
        .only(*LEDGER_FIELDS)
    )


def greeting_rows(customer: Any, filters: dict[str, str]) -> QuerySet | None:
    if loyalty_account(customer) is None:
        return None
    return Greeting.objects.for_customer(customer).for_timeline().only(*GREETING_FIELDS)


def ledger_entries(entries: Sequence[LedgerEntry]) -> list[SafeString]:
    kinds = timeline.choice_labels(LedgerEntry, "kind")
    sources = timeline.choice_labels(LedgerEntry, "source")
    points_label = _("points")
    voucher = _("voucher")
    by = timeline.Message(_("by %(who)s"))
    valid_until = timeline.Message(_("valid until %(day)s"))

    def html(e: LedgerEntry) -> SafeString:
        return format_html(
            LEDGER_HTML,
            kind=kinds.get(e.kind, e.kind),
            points_class="text-danger" if e.points < 0 else "text-success",
            points=signed_points(e.points),
            points_label=points_label,
            programme=e.membership.programme.name,
            time=timeline.time_html(e.created_at),
            by=by(who=timeline.user_name(e.by)) if e.by is not None else sources.get(e.source, e.source),
            reason=e.display_reason,
            voucher=format_html(VOUCHER_HTML, voucher, e.redemption.voucher_code) if e.redemption is not None else "",
            valid_until=format_html(
                AFTER_DOT_HTML, valid_until(day=formats.date_format(e.expires_on, "SHORT_DATE_FORMAT"))
            )
            if e.expires_on and e.points > 0
            else "",
        )

    return [html(e) for e in entries]


def greeting_entries(greetings: Sequence[Greeting]) -> list[SafeString]:
    kinds = timeline.choice_labels(Greeting, "kind")
    statuses = timeline.choice_labels(Greeting, "status")
    # What the greeting was for, by kind: its message and the name its detail takes in it.
    messages = {
        Greeting.Kind.TIER_UPGRADE: (timeline.Message(_("Now %(tier)s")), "tier"),
        Greeting.Kind.PURCHASE: (timeline.Message(_("Purchase number %(n)s")), "n"),
        Greeting.Kind.POINTS_EXPIRING: (timeline.Message(_("Points expiring on %(day)s")), "day"),
        Greeting.Kind.ANNIVERSARY: (timeline.Message(_("%(n)s years a member")), "n"),
    }
    bonus = timeline.Message(_("%(n)s bonus points"))
    # Why a greeting was not sent: the outbox's reason (no consent, opted out, no address…), when it gave one.
    reasons = {k: v for k, v in timeline.choice_labels(OutboundMessage, "skip_reason").items() if k}
    not_sent = timeline.Message(_("Not sent: %(reason)s"))

    def status(g: Greeting) -> str:
        if g.status == Greeting.Status.NOT_SENT and g.error in reasons:
            return not_sent(reason=reasons[g.error])
        return statuses.get(g.status, g.status)

    def html(g: Greeting) -> SafeString:
        message = messages.get(g.kind)
        what = message[0](**{message[1]: g.detail}) if message else g.occasion
        return format_html(
            GREETING_HTML,
            kind=kinds.get(g.kind, g.kind),
            programme=g.membership.programme.name,
            time=timeline.time_html(g.created_at),
            status=status(g),
            what=what,
            bonus=format_html(AFTER_DOT_HTML, bonus(n=formats.localize(g.bonus_points))) if g.bonus_points else "",
        )

    return [html(g) for g in greetings]
