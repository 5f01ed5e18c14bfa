"""Programmes, tiers and rewards: validated before they are saved, whoever edits them."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from ..member.rewards_cache import card_rewards_forget
from ..models import Programme, Reward, Tier


def _save_model(instance, *, exclude: Iterable[str] = ()) -> None:
    instance.full_clean(exclude=list(exclude))
    try:
        with transaction.atomic():
            instance.save()
    except IntegrityError as exc:
        raise ValidationError(_("This clashes with an existing entry (a name or position already in use).")) from exc


@transaction.atomic
def programme_save(*, programme: Programme) -> Programme:
    programme.name = " ".join((programme.name or "").split())
    programme.currency = (programme.currency or "").upper()
    if Programme.objects.filter(name__iexact=programme.name).exclude(pk=programme.pk).exists():
        raise ValidationError({"name": _("A programme with this name already exists.")})
    _save_model(programme)
    card_rewards_forget(programme.pk)  # an inactive programme offers no reward on the card
    return programme


def _number(value: Decimal) -> str:
    """1,000 for 1000.00; 12.5 as it is."""
    return f"{value:,.0f}" if value == value.to_integral_value() else f"{value:,}"


@transaction.atomic
def tier_save(*, tier: Tier) -> Tier:
    tier.name = " ".join((tier.name or "").split())
    clash = Tier.objects.filter(programme_id=tier.programme_id).exclude(pk=tier.pk)
    if clash.filter(name__iexact=tier.name).exists():
        raise ValidationError({"name": _("This programme already has a tier with this name.")})
    if clash.filter(position=tier.position).exists():
        raise ValidationError({"position": _("This programme already has a tier at this position.")})
    # Members climb the tiers in their order: a later tier must ask for more than every earlier one, or members
    # above its threshold would "rise" into it from a higher tier. The programme's tiers are locked while checking.
    others = list(clash.select_for_update().order_by("position").values_list("name", "position", "threshold"))
    below = [(name, threshold) for name, position, threshold in others if position < tier.position]
    above = [(name, threshold) for name, position, threshold in others if position > tier.position]
    if below and tier.threshold is not None and tier.threshold <= max(t for _n, t in below):
        name, threshold = max(below, key=lambda item: item[1])
        raise ValidationError(
            {
                "threshold": _("Set more than %(threshold)s, the threshold of “%(name)s”, an earlier tier.")
                % {"threshold": _number(threshold), "name": name}
            }
        )
    if above and tier.threshold is not None and tier.threshold >= min(t for _n, t in above):
        name, threshold = min(above, key=lambda item: item[1])
        raise ValidationError(
            {
                "threshold": _("Set less than %(threshold)s, the threshold of “%(name)s”, a later tier.")
                % {"threshold": _number(threshold), "name": name}
            }
        )
    _save_model(tier)
    return tier


@transaction.atomic
def reward_save(*, reward: Reward) -> Reward:
    if reward.min_tier_id and reward.min_tier.programme_id != reward.programme_id:
        raise ValidationError({"min_tier": _("Choose a tier of the reward's programme.")})
    _save_model(reward)
    card_rewards_forget(reward.programme_id)
    return reward
