"""Segments: saved filters over customers, built from conditions that each app registers.

A segment's rules are a dict ``{condition key: cleaned value}``; a customer is in the segment when
every condition holds. The customers app registers its own conditions below; the apps above it
(the journey stage and spend from touchpoints, the tier from loyalty) register theirs in their
``AppConfig.ready()``, so ``customers`` never imports them. Each condition turns its value into a
``Q`` over ``Customer`` (an ``Exists`` subquery for related rows, so no row is counted twice).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.dates import MONTHS
from django.utils.translation import gettext_lazy as _

from .models import Customer, Tag
from .names import staff_name


@dataclass(frozen=True)
class SegmentCondition:
    key: str
    label: Any
    field: Callable[[], forms.Field]
    to_q: Callable[[Any], Q]
    order: int = 100
    # JSON-safe form of the cleaned value, and back (model instances are stored by primary key).
    dump: Callable[[Any], Any] = lambda value: value
    load: Callable[[Any], Any] = lambda value: value


_conditions: dict[str, SegmentCondition] = {}


def register(condition: SegmentCondition) -> None:
    _conditions[condition.key] = condition


def conditions() -> list[SegmentCondition]:
    return sorted(_conditions.values(), key=lambda c: (c.order, c.key))


def is_empty(value: Any) -> bool:
    return value in (None, "", [], ()) or (hasattr(value, "exists") and not value.exists())


def rules_q(rules: dict[str, Any]) -> Q:
    """The Q for a segment's stored rules; unknown keys (a condition whose app is gone) are ignored."""
    q = Q()
    for key, raw in (rules or {}).items():
        condition = _conditions.get(key)
        if condition is None or is_empty(raw):
            continue
        q &= condition.to_q(condition.load(raw))
    return q


class SegmentRulesForm(forms.Form):
    """One optional field per registered condition; what is filled in becomes the rules."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for condition in conditions():
            field = condition.field()
            field.required = False
            field.label = condition.label
            if isinstance(field.widget, forms.SelectMultiple) and not isinstance(
                field.widget, forms.CheckboxSelectMultiple
            ):
                # Ticked boxes, not a native multi-select that needs Ctrl-click; a filter box when the list is long.
                field.widget = forms.CheckboxSelectMultiple(
                    attrs={"data-filterable": "", "data-filter-label": _("Type to filter")}
                )
                field.widget.choices = field.choices
            self.fields[f"rule_{condition.key}"] = field

    @classmethod
    def initial_from_rules(cls, rules: dict[str, Any]) -> dict[str, Any]:
        return {f"rule_{k}": _conditions[k].load(v) for k, v in (rules or {}).items() if k in _conditions}

    def rules(self) -> dict[str, Any]:
        rules = {}
        for condition in conditions():
            value = self.cleaned_data.get(f"rule_{condition.key}")
            if not is_empty(value):
                rules[condition.key] = condition.dump(value)
        return rules


# --- The customers app's own conditions ------------------------------------------------------------


def _days_ago(days: int) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=days)


def _tags_q(tag_ids: list[int]) -> Q:
    through = Customer.tags.through
    return Q(Exists(through.objects.filter(customer_id=OuterRef("pk"), tag_id__in=tag_ids)))


def _owner_q(value: str) -> Q:
    if value == "none":
        return Q(owner__isnull=True)
    return Q(owner_id=int(value))


def _consent_q(value: str) -> Q:
    return {
        "yes": Q(marketing_consent=True, do_not_contact=False),
        "no": Q(marketing_consent=False),
        "dnc": Q(do_not_contact=True),
    }[value]


def _tag_field() -> forms.Field:
    return forms.ModelMultipleChoiceField(
        queryset=Tag.objects.all(), widget=forms.SelectMultiple(attrs={"class": "form-select", "size": 4})
    )


def _owner_field() -> forms.Field:
    from django.contrib.auth import get_user_model

    def choices() -> list[tuple[str, str]]:
        users = get_user_model().objects.filter(is_active=True, is_staff=True).order_by("username")
        return [("", "—"), ("none", str(_("Unassigned")))] + [(str(u.pk), staff_name(u)) for u in users]

    return forms.ChoiceField(choices=choices, widget=forms.Select(attrs={"class": "form-select"}))


def register_customer_conditions() -> None:
    select = {"class": "form-select"}
    register(
        SegmentCondition(
            key="tags",
            label=_("Has any of these tags"),
            field=_tag_field,
            to_q=lambda ids: _tags_q(list(ids)),
            dump=lambda tags: sorted(t.pk for t in tags),
            load=lambda ids: ids,
            order=10,
        )
    )
    register(
        SegmentCondition(
            key="source",
            label=_("Acquisition source is one of"),
            field=lambda: forms.MultipleChoiceField(
                choices=Customer.Source.choices, widget=forms.SelectMultiple(attrs={**select, "size": 4})
            ),
            to_q=lambda values: Q(source__in=values),
            order=20,
        )
    )
    register(SegmentCondition(key="owner", label=_("Owner"), field=_owner_field, to_q=_owner_q, order=30))
    register(
        SegmentCondition(
            key="consent",
            label=_("Consent"),
            field=lambda: forms.ChoiceField(
                choices=[
                    ("", "—"),
                    ("yes", _("Can receive marketing")),
                    ("no", _("No consent")),
                    ("dnc", _("Do not contact")),
                ],
                widget=forms.Select(attrs=select),
            ),
            to_q=_consent_q,
            order=40,
        )
    )
    register(
        SegmentCondition(
            key="language",
            label=_("Preferred language"),
            field=lambda: forms.ChoiceField(
                choices=[("", "—"), *Customer.Language.choices], widget=forms.Select(attrs=select)
            ),
            to_q=lambda value: Q(preferred_language=value),
            order=50,
        )
    )
    register(
        SegmentCondition(
            key="active_within_days",
            label=_("Active in the last N days"),
            field=lambda: forms.IntegerField(min_value=1, max_value=3650),
            to_q=lambda days: Q(activity__last_activity_at__gte=_days_ago(days)),
            order=60,
        )
    )
    register(
        SegmentCondition(
            key="inactive_for_days",
            label=_("No activity for at least N days"),
            field=lambda: forms.IntegerField(min_value=1, max_value=3650),
            to_q=lambda days: Q(activity__last_activity_at__lt=_days_ago(days)),
            order=61,
        )
    )
    register(
        SegmentCondition(
            key="created_within_days",
            label=_("Became a customer in the last N days"),
            field=lambda: forms.IntegerField(min_value=1, max_value=3650),
            to_q=lambda days: Q(created_at__gte=_days_ago(days)),
            order=62,
        )
    )
    register(
        SegmentCondition(
            key="birthday_month",
            label=_("Birthday in month"),
            field=lambda: forms.TypedChoiceField(
                coerce=int,
                empty_value=None,
                choices=[("", "—"), *MONTHS.items()],
                widget=forms.Select(attrs=select),
            ),
            to_q=lambda month: Q(birth_date__month=int(month)),
            order=70,
        )
    )
