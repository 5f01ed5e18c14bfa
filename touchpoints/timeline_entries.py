"""Touchpoints and stage changes on the customer timeline: their rows (only the columns shown) and their HTML,
written once per page the way ``touchpoints/includes/_timeline_touchpoint.html`` and ``_timeline_transition.html``
write one entry (those templates still render the entries of a touchpoint just logged)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from customers import timeline
from customers.money import format_money

from .models import Direction, StageTransition, Touchpoint

USER_NAME_FIELDS = ("username", "first_name", "last_name")
TOUCHPOINT_FIELDS = (
    "stage",
    "channel",
    "direction",
    "occurred_at",
    "summary",
    "amount",
    "currency",
    "order_reference",
    "campaign",
    "utm_source",
    "source",
    "type__name",
    "recorded_by_api_key__name",
    *(f"recorded_by_user__{name}" for name in USER_NAME_FIELDS),
)
TRANSITION_FIELDS = (
    "from_stage",
    "to_stage",
    "at",
    "is_manual",
    "reason",
    "touchpoint__type__name",
    *(f"by__{name}" for name in USER_NAME_FIELDS),
)

TOUCHPOINT_HTML = """
<span class="timeline-icon"><i class="bi bi-signpost-split text-success" aria-hidden="true"></i></span>
<div class="small text-body-secondary">
  <span class="badge text-bg-light border stage-{stage}">{stage_label}</span>
  <strong class="text-body">{type}</strong>
  · {channel}
  · {direction}
  · {time}
  · {recorded}
</div>
{amount}{summary}{campaign}"""
OUTBOUND_HTML = '<i class="bi bi-arrow-up-right" aria-hidden="true"></i> {}'
INBOUND_HTML = '<i class="bi bi-arrow-down-left" aria-hidden="true"></i> {}'
AMOUNT_HTML = '<div class="touchpoint-amount">{}{}</div>\n'
ORDER_HTML = " · {} <code>{}</code>"
SUMMARY_HTML = '<div class="timeline-body">{}</div>\n'
HIDDEN_SUMMARY_HTML = '<div class="timeline-body text-body-secondary fst-italic">{}</div>\n'
CAMPAIGN_HTML = '<div class="small text-body-secondary">{}{}</div>\n'
CAMPAIGN_NAME_HTML = "{}: {}"
UTM_SOURCE_HTML = " · utm_source: {}"

TRANSITION_HTML = """
<span class="timeline-icon"><i class="bi bi-signpost-2 text-primary" aria-hidden="true"></i></span>
<div class="small text-body-secondary">{time}</div>
<div>
  {moved}
  {how}
</div>
{reason}"""
HOW_HTML = '<span class="text-body-secondary">· {}</span>'
REASON_HTML = '<div class="timeline-body small">{}</div>\n'


# Touchpoints a higher app records whose summaries are its own correspondence (feedback: a ticket's subject), by the
# prefix of their idempotency key, and the permission a reader needs to read those summaries.
_private_summaries: dict[str, str] = {}


def private_summaries_register(*, key_prefix: str, permission: str) -> None:
    _private_summaries[key_prefix] = permission


def touchpoints_for_reader(touchpoints: QuerySet, user: Any) -> QuerySet:
    """Marks (``summary_hidden``) the touchpoints whose summary ``user`` may not read."""
    hidden = [prefix for prefix, permission in _private_summaries.items() if not user.has_perm(permission)]
    if not hidden:
        return touchpoints
    private = Q()
    for prefix in hidden:
        private |= Q(idempotency_key__startswith=prefix)
    return touchpoints.annotate(summary_hidden=ExpressionWrapper(private, output_field=BooleanField()))


# Touchpoints another app's timeline entry stands for, by a key of their metadata (feedback: "ticket" — a ticket's
# opening touchpoint and its survey request are the ticket's entry). They, and the stage moves they caused, stay
# out of the timeline: one phone complaint made eight entries (issue 20). They still count in the journey.
_folded_metadata_keys: set[str] = set()


def fold_touchpoints(*, metadata_key: str) -> None:
    _folded_metadata_keys.add(metadata_key)


def _folded(prefix: str = "") -> Q:
    q = Q()
    for key in sorted(_folded_metadata_keys):
        q |= Q(**{f"{prefix}metadata__has_key": key})
    return q


def touchpoint_rows(customer: Any, filters: dict[str, str]) -> QuerySet:
    qs = Touchpoint.objects.for_customer(customer).with_stage_and_channel(filters)
    if _folded_metadata_keys:
        qs = qs.exclude(_folded())
    return qs.for_timeline().only(*TOUCHPOINT_FIELDS)


def transition_rows(customer: Any, filters: dict[str, str]) -> QuerySet:
    qs = StageTransition.objects.for_customer(customer).with_stage_and_channel(filters)
    if _folded_metadata_keys:
        qs = qs.exclude(_folded("touchpoint__"))
    return qs.for_timeline().only(*TRANSITION_FIELDS)


class _TypeLabels(dict):
    """A touchpoint type's name in the current language (``TouchpointType.label``), translated once per page."""

    def __missing__(self, name: str) -> str:
        label = self[name] = _(name) if name else ""
        return label


def touchpoint_entries(touchpoints: Sequence[Touchpoint]) -> list[SafeString]:
    stages = timeline.choice_labels(Touchpoint, "stage")
    channels = timeline.choice_labels(Touchpoint, "channel")
    sources = timeline.choice_labels(Touchpoint, "source")
    types = _TypeLabels()
    outbound = format_html(OUTBOUND_HTML, _("outbound"))
    inbound = format_html(INBOUND_HTML, _("inbound"))
    by = timeline.Message(_("by %(who)s"))
    via_api = timeline.Message(_("via API (%(key)s)"))
    order = _("order")
    campaign = _("Campaign")
    hidden_summary = format_html(HIDDEN_SUMMARY_HTML, _("Support correspondence: not shown to your role."))

    def html(tp: Touchpoint) -> SafeString:
        if tp.recorded_by_user is not None:
            recorded = by(who=timeline.user_name(tp.recorded_by_user))
        elif tp.recorded_by_api_key is not None:
            recorded = via_api(key=tp.recorded_by_api_key.name)
        else:
            recorded = sources.get(tp.source, tp.source)
        amount = ""
        if tp.amount is not None:
            order_html = format_html(ORDER_HTML, order, tp.order_reference) if tp.order_reference else ""
            amount = format_html(AMOUNT_HTML, format_money(tp.amount, tp.currency), order_html)
        campaign_html = ""
        if tp.campaign or tp.utm_source:
            campaign_html = format_html(
                CAMPAIGN_HTML,
                format_html(CAMPAIGN_NAME_HTML, campaign, tp.campaign) if tp.campaign else "",
                format_html(UTM_SOURCE_HTML, tp.utm_source) if tp.utm_source else "",
            )
        return format_html(
            TOUCHPOINT_HTML,
            stage=tp.stage,
            stage_label=stages.get(tp.stage, tp.stage),
            type=types[tp.type.name],
            channel=channels.get(tp.channel, tp.channel),
            direction=outbound if tp.direction == Direction.OUTBOUND else inbound,
            time=timeline.time_html(tp.occurred_at),
            recorded=recorded,
            amount=amount,
            summary=(
                hidden_summary
                if getattr(tp, "summary_hidden", False)
                else format_html(SUMMARY_HTML, tp.summary)
                if tp.summary
                else ""
            ),
            campaign=campaign_html,
        )

    return [html(tp) for tp in touchpoints]


def transition_entries(transitions: Sequence[StageTransition]) -> list[SafeString]:
    stages = timeline.choice_labels(StageTransition, "to_stage")
    types = _TypeLabels()
    moved_from = timeline.Message(_("Moved from <strong>%(from)s</strong> to <strong>%(to)s</strong>"))
    entered = timeline.Message(_("Entered the journey at <strong>%(to)s</strong>"))
    by_hand = timeline.Message(_("by hand, by %(who)s"))
    after = timeline.Message(_("after “%(what)s”"))
    someone = _("someone")

    def html(t: StageTransition) -> SafeString:
        to = stages.get(t.to_stage, t.to_stage)
        if t.from_stage:
            moved = moved_from(**{"from": stages.get(t.from_stage, t.from_stage), "to": to})
        else:
            moved = entered(to=to)
        how = ""
        if t.is_manual:
            how = format_html(HOW_HTML, by_hand(who=timeline.user_name(t.by) or someone))
        elif t.touchpoint is not None:
            how = format_html(HOW_HTML, after(what=types[t.touchpoint.type.name]))
        return format_html(
            TRANSITION_HTML,
            time=timeline.time_html(t.at),
            moved=moved,
            how=how,
            reason=format_html(REASON_HTML, t.reason) if t.reason else "",
        )

    return [html(t) for t in transitions]
