from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .models import Membership, Programme, Reward, Tier
from .services import POINTS_MAX, new_idempotency_key


class JoinForm(forms.Form):
    programme = forms.TypedChoiceField(label=_("Programme"), coerce=int, choices=())
    referral_code = forms.CharField(
        label=_("Referral code"),
        max_length=12,
        required=False,
        help_text=_("The code of the member who recommended us, if any."),
    )

    def __init__(self, *args, programme_choices: list[tuple[int, str]] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if programme_choices is None:
            programme_choices = list(Programme.objects.active().values_list("id", "name"))
        self.fields["programme"].choices = programme_choices

    def clean_referral_code(self) -> str:
        return self.cleaned_data["referral_code"].strip().upper()


class IdempotentForm(forms.Form):
    """A form whose submission happens once: the key is drawn when the form is shown, so a double click
    or a resubmitted page sends the same key and the service returns the first result."""

    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64, min_length=16)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("idempotency_key", new_idempotency_key())
        super().__init__(*args, **kwargs)


class RewardChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Reward) -> str:
        return _("%(name)s — %(cost)s points") % {"name": obj.name, "cost": f"{obj.points_cost:,}"}


class RedeemForm(IdempotentForm):
    reward = RewardChoiceField(queryset=Reward.objects.none(), label=_("Reward"), empty_label=None)

    def __init__(self, *args, membership: Membership, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["reward"]
        field.queryset = Reward.objects.available().for_membership(membership).order_by("position", "points_cost", "id")
        # Offered first: the first reward the member can afford (the others stay listed, and are refused if chosen).
        affordable = field.queryset.filter(points_cost__lte=membership.balance).values_list("pk", flat=True).first()
        if affordable is not None:
            field.initial = affordable
        else:
            field.empty_label = _("Choose a reward")


class AdjustForm(IdempotentForm):
    points = forms.IntegerField(
        label=_("Points"),
        min_value=-POINTS_MAX,
        max_value=POINTS_MAX,
        help_text=_("Positive to add points, negative to remove them."),
    )
    reason = forms.CharField(label=_("Reason"), max_length=300, help_text=_("Shown in the member's history."))

    def clean_points(self) -> int:
        points = self.cleaned_data["points"]
        if points == 0:
            raise ValidationError(_("Enter a number of points other than zero."))
        return points


class CancelRedemptionForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=300, required=False)


RATE_STEP = Decimal("0.0001")  # Programme.earn_rate's four decimal places


class ProgrammeForm(forms.ModelForm):
    """The earn rate is typed as shops say it — 「100円で1ポイント」 or 「還元率1%」 — and stored as points per
    unit spent (``earn_rate``: 0.01), as before. Either field will do; both must then agree."""

    spend_per_point = forms.DecimalField(
        label=_("Spend for one point"),
        min_value=Decimal("1"),
        max_value=Decimal("10000"),
        decimal_places=0,
        required=False,
        help_text=_("In the programme's currency: 100 means one point for every 100 yen spent."),
    )
    points_back_percent = forms.DecimalField(
        label=_("Points back (%)"),
        min_value=Decimal("0"),
        max_value=Decimal("100"),
        decimal_places=2,
        required=False,
        help_text=_("A point is worth one yen: 1 gives one point back for every 100 yen. 0: no points."),
    )
    field_order = ["name", "description", "currency", "spend_per_point", "points_back_percent"]

    class Meta:
        model = Programme
        fields = [
            "name",
            "description",
            "currency",
            "points_lifetime_months",
            "expiry_reminder_days",
            "tier_basis",
            "tier_grace_days",
            "birthday_bonus",
            "anniversary_bonus",
            "referrer_bonus",
            "referee_bonus",
            "purchase_milestones",
            "purchase_milestone_bonus",
            "is_active",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        rate = self.instance.earn_rate
        if rate is not None and not self.is_bound:
            self.initial.setdefault("points_back_percent", (rate * 100).normalize())
            spend = self.instance.spend_per_point
            if spend is not None:
                self.initial.setdefault("spend_per_point", spend)

    def clean(self):
        cleaned = super().clean()
        spend, percent = cleaned.get("spend_per_point"), cleaned.get("points_back_percent")
        if self.has_error("spend_per_point") or self.has_error("points_back_percent"):
            return cleaned
        rates = []
        if spend is not None:
            rate = (Decimal(1) / spend).quantize(RATE_STEP, rounding=ROUND_HALF_UP)
            if abs(rate * spend - 1) > Decimal("0.02"):  # 3,000 → 0.0003: 0.9 points, not one
                self.add_error("spend_per_point", _("Points are counted to 1/10,000: choose 100, 200, 500 or 1,000."))
                return cleaned
            rates.append(rate)
        if percent is not None:
            rates.append((percent / 100).quantize(RATE_STEP, rounding=ROUND_HALF_UP))
        if not rates:
            self.add_error("spend_per_point", _("Say how many points a purchase earns (either field)."))
        elif len(rates) == 2 and abs(rates[0] - rates[1]) > RATE_STEP:
            self.add_error(
                "points_back_percent", _("The two earn rates disagree: fill in one of them, or make them match.")
            )
        else:
            self.instance.earn_rate = rates[0]
        return cleaned

    def clean_points_lifetime_months(self):
        months = self.cleaned_data.get("points_lifetime_months")
        if months == 0:  # read as "never" before: the help text says to leave it empty for that
            raise forms.ValidationError(
                _("Points must last at least a month: leave it empty for points that never expire.")
            )
        return months

    def clean_currency(self) -> str:
        currency = (self.cleaned_data.get("currency") or "").strip().upper()
        if len(currency) != 3 or not currency.isalpha() or not currency.isascii():
            raise ValidationError(_("Enter a three-letter ISO 4217 currency code, e.g. JPY."))
        return currency

    def clean_purchase_milestones(self) -> str:
        value = self.cleaned_data.get("purchase_milestones") or ""
        parts = [p.strip() for p in value.replace("、", ",").split(",") if p.strip()]
        if any(not p.isdigit() or int(p) < 1 or int(p) > 1_000_000 for p in parts):
            raise ValidationError(_("Enter whole numbers separated by commas, e.g. 1, 10, 50."))
        return ", ".join(str(n) for n in sorted({int(p) for p in parts}))


class TierForm(forms.ModelForm):
    class Meta:
        model = Tier
        fields = ["name", "position", "threshold", "multiplier", "benefits"]
        widgets = {"benefits": forms.Textarea(attrs={"rows": 3})}


class RewardForm(forms.ModelForm):
    class Meta:
        model = Reward
        fields = [
            "name",
            "kind",
            "description",
            "points_cost",
            "stock",
            "min_tier",
            "available_from",
            "available_until",
            "position",
            "is_active",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "available_from": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
            "available_until": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        }

    def __init__(self, *args, programme: Programme, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["min_tier"].queryset = Tier.objects.filter(programme=programme).order_by("position")
        for name in ("available_from", "available_until"):
            self.fields[name].input_formats = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"]

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("available_from"), cleaned.get("available_until")
        if start and end and end <= start:
            self.add_error("available_until", _("The end must come after the start."))
        return cleaned


class MemberFilterForm(forms.Form):
    """The members list's query string, validated: only these keys and values reach the queryset."""

    q = forms.CharField(required=False, max_length=100, label=_("Member number or customer"))
    programme = forms.IntegerField(required=False, min_value=1, max_value=2**31 - 1)
    tier = forms.IntegerField(required=False, min_value=1, max_value=2**31 - 1)
    status = forms.ChoiceField(required=False, choices=[("", _("Any status")), *Membership.Status.choices])

    def filters(self) -> dict:
        if not self.is_valid():
            return {}
        data = self.cleaned_data
        return {
            "q": data.get("q") or "",
            "programme_id": data.get("programme"),
            "tier_id": data.get("tier"),
            "status": data.get("status") or "",
        }

    def is_filtered(self) -> bool:
        return any(self.filters().values())
