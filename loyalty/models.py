"""Loyalty: programmes and their tiers, memberships, the points ledger, rewards and redemptions, greetings.

Rows are written only by the services in ``loyalty/services/``. The database holds the invariants:
one membership per customer and programme, a balance never below zero, one ledger entry per
idempotency key, one greeting per customer, kind and occasion, a reward's stock never below zero.
The ledger is append-only: a PostgreSQL trigger (migration 0002) refuses to edit or delete an entry,
except what is left of an earned lot (``remaining``), a reference nulled by the deletion of what it
pointed to, and the erasure of a customer; the model and its queryset refuse the same in Python.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import ExtractDay, ExtractMonth, Lower
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers import system_text
from customers.models import Customer

from .querysets import (
    GreetingQuerySet,
    LedgerEntryQuerySet,
    MembershipQuerySet,
    ProgrammeQuerySet,
    RewardQuerySet,
)


class Programme(models.Model):
    class TierBasis(models.TextChoices):
        POINTS = "points", _("Points earned on purchases")
        AMOUNT = "amount", _("Amount spent")

    name = models.CharField(_("name"), max_length=100)
    description = models.CharField(_("description"), max_length=300, blank=True)
    currency = models.CharField(
        _("currency"), max_length=3, default="JPY", help_text=_("Purchases in this currency earn points.")
    )
    earn_rate = models.DecimalField(
        _("earn rate"),
        max_digits=10,
        decimal_places=4,
        default=Decimal("0.01"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("Points per unit of currency spent: 0.01 is one point per 100 yen."),
    )  # typed as shops say it, 「100円で1ポイント」 or 「還元率1%」 (loyalty.forms.ProgrammeForm)
    points_lifetime_months = models.PositiveSmallIntegerField(
        _("points expire after (months)"),
        null=True,
        blank=True,
        help_text=_("Leave empty for points that never expire."),
    )
    expiry_reminder_days = models.PositiveSmallIntegerField(
        _("remind before expiry (days)"), default=30, help_text=_("0: no reminders.")
    )
    tier_basis = models.CharField(
        _("tiers qualify on"), max_length=10, choices=TierBasis.choices, default=TierBasis.POINTS
    )
    tier_grace_days = models.PositiveSmallIntegerField(
        _("grace period before a downgrade (days)"),
        default=30,
        help_text=_("At the yearly review, a member below their tier keeps it this long to qualify again."),
    )
    birthday_bonus = models.PositiveIntegerField(_("birthday bonus (points)"), default=0)
    anniversary_bonus = models.PositiveIntegerField(_("membership anniversary bonus (points)"), default=0)
    referrer_bonus = models.PositiveIntegerField(_("referral bonus for the referrer (points)"), default=0)
    referee_bonus = models.PositiveIntegerField(_("referral bonus for the new member (points)"), default=0)
    purchase_milestones = models.CharField(
        _("purchase milestones"),
        max_length=100,
        blank=True,
        help_text=_("Purchases to celebrate, e.g. “1, 10, 50, 100”."),
    )
    purchase_milestone_bonus = models.PositiveIntegerField(_("purchase milestone bonus (points)"), default=0)
    is_active = models.BooleanField(_("active"), default=True, help_text=_("Inactive programmes earn nothing."))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = ProgrammeQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("loyalty programme")
        verbose_name_plural = _("loyalty programmes")
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                name="loyalty_programme_name_ci_unique",
                violation_error_message=_("A programme with this name already exists."),
            ),
            models.CheckConstraint(condition=Q(earn_rate__gte=0), name="loyalty_programme_earn_rate_not_negative"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("loyalty:programme_detail", args=[self.pk])

    @property
    def spend_per_point(self) -> Decimal | None:
        """The spend that earns one point (100 for 0.01), when it is a whole amount; None otherwise or at 0."""
        if not self.earn_rate:
            return None
        spend = Decimal(1) / Decimal(self.earn_rate)
        whole = spend.to_integral_value()
        return whole if abs(spend - whole) < Decimal("0.01") else None

    @property
    def points_back_percent(self) -> Decimal:
        """The rate as a share of the amount (a point is worth one unit): 0.01 is 1%."""
        return (Decimal(self.earn_rate) * 100).normalize()

    @property
    def milestone_numbers(self) -> list[int]:
        numbers = set()
        for part in self.purchase_milestones.replace("、", ",").split(","):
            part = part.strip()
            if part.isdigit() and int(part) > 0:
                numbers.add(int(part))
        return sorted(numbers)


class Tier(models.Model):
    programme = models.ForeignKey(
        Programme, verbose_name=_("programme"), on_delete=models.CASCADE, related_name="tiers"
    )
    name = models.CharField(_("name"), max_length=50)
    position = models.PositiveSmallIntegerField(_("position"), help_text=_("1 for the first tier, then 2, 3…"))
    threshold = models.DecimalField(
        _("qualifying threshold"),
        max_digits=14,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("Points earned or amount spent in the last 12 months (see the programme)."),
    )
    multiplier = models.DecimalField(
        _("earn multiplier"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("1.00"),
        validators=[MinValueValidator(Decimal("0.01"))],
    )
    benefits = models.TextField(_("benefits"), blank=True, max_length=2000)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["programme", "position"]
        verbose_name = _("tier")
        verbose_name_plural = _("tiers")
        constraints = [
            models.UniqueConstraint(fields=["programme", "position"], name="loyalty_tier_position_unique"),
            models.UniqueConstraint(
                "programme",
                Lower("name"),
                name="loyalty_tier_name_ci_unique",
                violation_error_message=_("This programme already has a tier with this name."),
            ),
            models.CheckConstraint(condition=Q(multiplier__gt=0), name="loyalty_tier_multiplier_positive"),
            models.CheckConstraint(condition=Q(threshold__gte=0), name="loyalty_tier_threshold_not_negative"),
        ]

    def __str__(self) -> str:
        return self.name


class LoyaltyAccount(models.Model):
    """One row per customer who belongs to any programme, written when they join.

    The customer page joins it into its customer query (``Panel.select_related``): a customer who is in
    no programme (most of them) costs the page no loyalty query at all, panel and timeline included.
    """

    customer = models.OneToOneField(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="loyalty_account"
    )
    memberships = models.PositiveSmallIntegerField(_("memberships"), default=0)
    created_at = models.DateTimeField(_("first joined at"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("loyalty account")
        verbose_name_plural = _("loyalty accounts")

    def __str__(self) -> str:
        return str(self.customer_id)


class Membership(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        PAUSED = "paused", _("Paused")
        CLOSED = "closed", _("Closed")

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="memberships", db_index=False
    )
    programme = models.ForeignKey(
        Programme, verbose_name=_("programme"), on_delete=models.PROTECT, related_name="memberships", db_index=False
    )
    member_number = models.CharField(_("member number"), max_length=20, unique=True)
    referral_code = models.CharField(_("referral code"), max_length=12, unique=True)
    referred_by = models.ForeignKey(
        "self",
        verbose_name=_("referred by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="referrals",
    )
    referral_rewarded_at = models.DateTimeField(_("referral rewarded at"), null=True, blank=True)
    tier = models.ForeignKey(
        Tier, verbose_name=_("tier"), on_delete=models.PROTECT, null=True, blank=True, related_name="memberships"
    )
    tier_since = models.DateTimeField(_("in this tier since"), null=True, blank=True)
    tier_review_on = models.DateField(
        _("next tier review"), null=True, blank=True, help_text=_("Empty on the first tier: nothing to review.")
    )
    tier_grace_until = models.DateField(
        _("downgrade grace until"),
        null=True,
        blank=True,
        help_text=_("Set when a review found the member below their tier; they keep it until this day."),
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE)
    joined_at = models.DateTimeField(_("joined at"), default=timezone.now)
    joined_on = models.DateField(_("joined on"), help_text=_("In the business time zone; anniversaries use it."))
    balance = models.IntegerField(_("points balance"), default=0)
    lifetime_points = models.IntegerField(_("lifetime points"), default=0)
    purchase_count = models.PositiveIntegerField(_("purchases"), default=0)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        ordering = ["-joined_at", "-id"]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        permissions = [
            ("adjust_points", _("Can adjust points by hand")),
            ("view_loyalty_figures", _("Can view the loyalty figures")),
            ("use_till", _("Can use the till mode")),
            ("manage_card", _("Can send and reissue member cards")),
        ]
        constraints = [
            models.UniqueConstraint(fields=["customer", "programme"], name="loyalty_membership_customer_unique"),
            models.CheckConstraint(condition=Q(balance__gte=0), name="loyalty_membership_balance_not_negative"),
            models.CheckConstraint(
                condition=Q(lifetime_points__gte=0), name="loyalty_membership_lifetime_not_negative"
            ),
            models.CheckConstraint(condition=~Q(referred_by=F("id")), name="loyalty_membership_not_self_referred"),
        ]
        indexes = [
            # The members list, unfiltered and by each whitelisted filter, in its keyset order.
            models.Index(fields=["-joined_at", "-id"], name="membership_joined_idx"),
            models.Index(fields=["programme", "-joined_at", "-id"], name="membership_programme_idx"),
            models.Index(fields=["tier", "-joined_at", "-id"], name="membership_tier_idx"),
            models.Index(fields=["status", "-joined_at", "-id"], name="membership_status_idx"),
            # Today's membership anniversaries (the daily milestone job), without a scan.
            models.Index(
                ExtractMonth("joined_on"),
                ExtractDay("joined_on"),
                name="membership_anniversary_idx",
                condition=Q(status="active"),
            ),
            # The nightly tier review: only memberships whose review is due.
            models.Index(
                fields=["tier_review_on"], name="membership_tier_review_idx", condition=Q(tier_review_on__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return self.member_number

    def get_absolute_url(self) -> str:
        return reverse("loyalty:membership_detail", args=[self.pk])

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class TierChange(models.Model):
    class Reason(models.TextChoices):
        JOIN = "join", _("Joined")
        UPGRADE = "upgrade", _("Upgrade")
        DOWNGRADE = "downgrade", _("Downgrade at the yearly review")
        MERGE = "merge", _("Customers merged")

    membership = models.ForeignKey(
        Membership, verbose_name=_("membership"), on_delete=models.CASCADE, related_name="tier_changes"
    )
    from_tier = models.ForeignKey(
        Tier, verbose_name=_("from"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    to_tier = models.ForeignKey(Tier, verbose_name=_("to"), on_delete=models.PROTECT, null=True, related_name="+")
    reason = models.CharField(_("reason"), max_length=10, choices=Reason.choices)
    qualifying = models.DecimalField(_("qualifying value"), max_digits=16, decimal_places=2, null=True, blank=True)
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("tier change")
        verbose_name_plural = _("tier changes")

    def __str__(self) -> str:
        return f"{self.membership_id}: {self.from_tier_id} → {self.to_tier_id}"


class Reward(models.Model):
    class Kind(models.TextChoices):
        COUPON = "coupon", _("Discount coupon")
        SHIPPING = "shipping", _("Free shipping")
        GIFT = "gift", _("Gift")
        EARLY_ACCESS = "early_access", _("Early access")
        EVENT = "event", _("VIP event")
        OTHER = "other", _("Other")

    programme = models.ForeignKey(
        Programme, verbose_name=_("programme"), on_delete=models.CASCADE, related_name="rewards"
    )
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.COUPON)
    description = models.TextField(_("description"), blank=True, max_length=2000)
    points_cost = models.PositiveIntegerField(_("points cost"), validators=[MinValueValidator(1)])
    stock = models.PositiveIntegerField(_("stock"), null=True, blank=True, help_text=_("Empty: unlimited."))
    min_tier = models.ForeignKey(
        Tier,
        verbose_name=_("minimum tier"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="rewards",
    )
    available_from = models.DateTimeField(_("available from"), null=True, blank=True)
    available_until = models.DateTimeField(_("available until"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    position = models.PositiveSmallIntegerField(_("position"), default=100)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = RewardQuerySet.as_manager()

    class Meta:
        ordering = ["programme", "position", "points_cost", "id"]
        verbose_name = _("reward")
        verbose_name_plural = _("rewards")
        constraints = [
            models.CheckConstraint(condition=Q(points_cost__gt=0), name="loyalty_reward_cost_positive"),
            models.CheckConstraint(
                condition=Q(stock__isnull=True) | Q(stock__gte=0), name="loyalty_reward_stock_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(available_from__isnull=True)
                | Q(available_until__isnull=True)
                | Q(available_until__gt=F("available_from")),
                name="loyalty_reward_window_ordered",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        earliest = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
        latest = dt.datetime(2999, 12, 31, tzinfo=dt.UTC)
        errors = {
            name: _("Choose a time between 2000 and 2999.")
            for name in ("available_from", "available_until")
            if getattr(self, name) is not None and not earliest <= getattr(self, name) <= latest
        }
        if errors:
            # Year 1 in Tokyo's old offset is a year BC in PostgreSQL, which it stores but cannot read back in Python.
            raise ValidationError(errors)

    def is_available(self, at=None) -> bool:
        at = at or timezone.now()
        if not self.is_active or (self.stock is not None and self.stock <= 0):
            return False
        if self.available_from and at < self.available_from:
            return False
        return not (self.available_until and at >= self.available_until)


class Redemption(models.Model):
    class Status(models.TextChoices):
        ISSUED = "issued", _("Issued")
        CANCELLED = "cancelled", _("Cancelled")

    class Source(models.TextChoices):
        STAFF = "staff", _("Staff")
        API = "api", _("API")
        CARD = "card", _("Member card")

    membership = models.ForeignKey(
        Membership, verbose_name=_("membership"), on_delete=models.CASCADE, related_name="redemptions"
    )
    reward = models.ForeignKey(Reward, verbose_name=_("reward"), on_delete=models.PROTECT, related_name="redemptions")
    points = models.PositiveIntegerField(_("points"))
    voucher_code = models.CharField(_("voucher code"), max_length=20, unique=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ISSUED)
    idempotency_key = models.CharField(_("idempotency key"), max_length=200, unique=True)
    source = models.CharField(_("redeemed via"), max_length=10, choices=Source.choices, default=Source.STAFF)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("redeemed at"), default=timezone.now)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancel_reason = models.CharField(_("why it was cancelled"), max_length=300, blank=True)
    used_at = models.DateTimeField(_("voucher used at"), null=True, blank=True)
    used_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("voucher taken by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("redemption")
        verbose_name_plural = _("redemptions")
        permissions = [("cancel_redemption", _("Can cancel a redemption (the points go back)"))]
        constraints = [models.CheckConstraint(condition=Q(points__gt=0), name="loyalty_redemption_points_positive")]

    def __str__(self) -> str:
        return self.voucher_code


class LedgerEntry(models.Model):
    """One movement of points. Never edited, never deleted: a correction is a new entry.

    Entries that add points are *lots*: ``remaining`` is what is left of them and ``expires_on`` when
    what is left expires. Entries that take points away record in ``allocations`` which lots they
    took from (``{lot id: points}``), so a cancelled redemption gives each lot back what it took.
    A membership's balance is the sum of its entries' points, and also the sum of its lots' ``remaining``.
    """

    class Kind(models.TextChoices):
        EARN = "earn", _("Earned")
        REDEEM = "redeem", _("Redeemed")
        EXPIRE = "expire", _("Expired")
        ADJUST = "adjust", _("Adjusted")
        REVERSE = "reverse", _("Reversed")
        BONUS = "bonus", _("Bonus")
        REFERRAL = "referral", _("Referral")

    class Source(models.TextChoices):
        PURCHASE = "purchase", _("Purchase")
        STAFF = "staff", _("Staff")
        API = "api", _("API")
        JOB = "job", _("Scheduled job")
        SYSTEM = "system", _("System")
        MEMBER = "member", _("Member (card)")

    membership = models.ForeignKey(
        Membership, verbose_name=_("membership"), on_delete=models.CASCADE, related_name="entries", db_index=False
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    points = models.IntegerField(_("points"))
    reason = models.CharField(_("reason"), max_length=300)
    # A reason the system wrote: its key and parameters, shown in the reader's language (customers.system_text).
    reason_key = models.CharField(_("reason key"), max_length=60, blank=True, default="")
    reason_params = models.JSONField(_("reason parameters"), blank=True, default=dict)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    source_ref = models.CharField(_("source reference"), max_length=200, blank=True)
    touchpoint = models.ForeignKey(
        "touchpoints.Touchpoint",
        verbose_name=_("touchpoint"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="loyalty_entries",
    )
    order_reference = models.CharField(_("order reference"), max_length=100, blank=True)
    amount = models.DecimalField(
        _("amount"), max_digits=14, decimal_places=2, null=True, blank=True, help_text=_("Of the purchase or return.")
    )
    redemption = models.ForeignKey(
        Redemption,
        verbose_name=_("redemption"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="entries",
    )
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    key = models.CharField(_("idempotency key"), max_length=200, unique=True)
    expires_on = models.DateField(_("expires on"), null=True, blank=True, help_text=_("Valid through this day."))
    remaining = models.IntegerField(_("unspent"), null=True, blank=True)
    allocations = models.JSONField(_("taken from lots"), default=dict, blank=True)
    created_at = models.DateTimeField(_("at"), default=timezone.now)

    objects = LedgerEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        constraints = [
            models.CheckConstraint(
                condition=~Q(points=0) | Q(kind__in=["earn", "reverse"]), name="loyalty_entry_points_not_zero"
            ),
            models.CheckConstraint(
                condition=Q(remaining__isnull=True) | (Q(remaining__gte=0) & Q(remaining__lte=F("points"))),
                name="loyalty_entry_remaining_within_lot",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["redeem", "expire"], points__lt=0) | ~Q(kind__in=["redeem", "expire"]),
                name="loyalty_entry_spend_negative",
            ),
        ]
        indexes = [
            # A membership's history (timeline, page) and its last 12 months (tier qualification).
            models.Index(fields=["membership", "-created_at", "-id"], name="ledger_membership_idx"),
            # Lots with points left: spending oldest first, and the nightly expiry.
            models.Index(
                fields=["membership", "expires_on", "id"], name="ledger_open_lots_idx", condition=Q(remaining__gt=0)
            ),
            models.Index(fields=["expires_on"], name="ledger_expiring_idx", condition=Q(remaining__gt=0)),
            # A return finds the purchase's entries by order reference.
            models.Index(
                fields=["membership", "order_reference"], name="ledger_order_idx", condition=~Q(order_reference="")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.points:+d}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            update_fields = kwargs.get("update_fields")
            if update_fields is None or set(update_fields) - {"remaining"}:
                raise ValueError("Ledger entries are append-only: write a new entry to correct one.")
        super().save(*args, **kwargs)

    @property
    def display_reason(self) -> str:
        """The reason in the reader's language when the system wrote it; as staff typed it otherwise."""
        return system_text.render(self.reason_key, self.reason_params, self.reason)

    def delete(self, *args, **kwargs):
        raise ValueError("Ledger entries are append-only: they are never deleted.")

    @property
    def is_lot(self) -> bool:
        return self.remaining is not None


class Greeting(models.Model):
    """A milestone message (and its bonus): exactly one per customer, kind and occasion."""

    class Kind(models.TextChoices):
        BIRTHDAY = "birthday", _("Birthday")
        ANNIVERSARY = "anniversary", _("Membership anniversary")
        TIER_UPGRADE = "tier_upgrade", _("Tier upgrade")
        PURCHASE = "purchase", _("Purchase milestone")
        POINTS_EXPIRING = "points_expiring", _("Points expiring")

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        SENT = "sent", _("Handed to the outbox")
        NOT_SENT = "not_sent", _("Not sent")
        FAILED = "failed", _("Failed")

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="loyalty_greetings", db_index=False
    )
    membership = models.ForeignKey(
        Membership, verbose_name=_("membership"), on_delete=models.CASCADE, related_name="greetings"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    occasion = models.CharField(_("occasion"), max_length=60)
    due_on = models.DateField(_("due on"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.SCHEDULED)
    detail = models.CharField(_("detail"), max_length=200, blank=True)
    bonus_points = models.PositiveIntegerField(_("bonus points"), default=0)
    message_id = models.BigIntegerField(_("outbox message"), null=True, blank=True)
    error = models.CharField(_("error"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)

    objects = GreetingQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("greeting")
        verbose_name_plural = _("greetings")
        constraints = [
            models.UniqueConstraint(fields=["customer", "kind", "occasion"], name="loyalty_greeting_once"),
        ]
        indexes = [
            models.Index(fields=["customer", "-created_at", "-id"], name="greeting_customer_idx"),
            models.Index(fields=["due_on", "id"], name="greeting_due_idx", condition=Q(status="scheduled")),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.occasion}"


from .member.models import MemberCard  # noqa: E402,F401 (a model of this app, kept in its own module)
from .wallet.models import WalletPass, WalletRegistration  # noqa: E402,F401 (models of this app, in their module)
