"""The customer journey: touchpoint catalogue, touchpoints, each customer's stage and its history, API keys.

Rows are written only by the services in ``touchpoints/services.py``; the database holds the invariants
(one journey per customer, one touchpoint per idempotency key, no negative amounts).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from customers.models import Customer

from .querysets import StageTransitionQuerySet, TouchpointQuerySet, TouchpointTypeQuerySet


class Stage(models.TextChoices):
    """Journey stages, declared in their order: a customer only moves forward automatically."""

    AWARENESS = "awareness", _("Awareness")
    CONSIDERATION = "consideration", _("Consideration")
    DECISION = "decision", _("Decision")
    RETENTION = "retention", _("Retention")


STAGE_ORDER: list[str] = [s.value for s in Stage]
STAGE_RANK: dict[str, int] = {value: rank for rank, value in enumerate(STAGE_ORDER)}


def stage_rank(stage: str | None) -> int:
    """0 for awareness … 3 for retention; -1 for "not in the journey yet"."""
    return STAGE_RANK.get(stage or "", -1)


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    PHONE = "phone", _("Phone")
    LINE = "line", _("LINE")
    SMS = "sms", _("SMS")
    WEB = "web", _("Web")
    SOCIAL = "social", _("Social media")
    STORE = "store", _("Store")
    EVENT = "event", _("Event")
    ADVERTISING = "advertising", _("Advertising")
    POST = "post", _("Post")
    OTHER = "other", _("Other")


class Direction(models.TextChoices):
    INBOUND = "inbound", _("Inbound (from the customer)")
    OUTBOUND = "outbound", _("Outbound (to the customer)")


class TouchpointType(models.Model):
    """An entry of the catalogue marketing edits. The slug is stable: the API and importers refer to it."""

    class Kind(models.TextChoices):
        INTERACTION = "interaction", _("Interaction")
        PURCHASE = "purchase", _("Purchase")
        RETURN = "return", _("Return or refund")

    slug = models.SlugField(_("slug"), max_length=50, unique=True, help_text=_("Stable identifier used by the API."))
    name = models.CharField(_("name"), max_length=100)
    stage = models.CharField(_("stage"), max_length=20, choices=Stage.choices)
    kind = models.CharField(
        _("kind"),
        max_length=20,
        choices=Kind.choices,
        default=Kind.INTERACTION,
        help_text=_("Purchases and returns may carry an amount; loyalty awards and reverses points on them."),
    )
    description = models.CharField(_("description"), max_length=300, blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=100, help_text=_("Order in menus."))
    is_active = models.BooleanField(_("active"), default=True, help_text=_("Inactive types cannot be recorded."))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = TouchpointTypeQuerySet.as_manager()

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("touchpoint type")
        verbose_name_plural = _("touchpoint types")

    def __str__(self) -> str:
        return self.label

    def get_absolute_url(self) -> str:
        return reverse("touchpoints:type_update", args=[self.pk])

    @property
    def label(self) -> str:
        """The name in the current language: seeded names are in the message catalogue, edited ones show as typed."""
        return gettext(self.name) if self.name else ""

    @property
    def description_label(self) -> str:
        """The description in the current language, as ``label`` is the name's."""
        return gettext(self.description) if self.description else ""


class Touchpoint(models.Model):
    class Source(models.TextChoices):
        STAFF = "staff", _("Staff")
        API = "api", _("API")
        IMPORT = "import", _("Import")
        SYSTEM = "system", _("System")

    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="touchpoints",
        db_index=False,  # covered by touchpoint_customer_idx
    )
    type = models.ForeignKey(
        TouchpointType,
        verbose_name=_("type"),
        on_delete=models.PROTECT,
        related_name="touchpoints",
        db_index=False,  # covered by touchpoint_type_idx
    )
    stage = models.CharField(
        _("stage"), max_length=20, choices=Stage.choices, help_text=_("The type's stage when recorded.")
    )
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices, default=Channel.OTHER)
    direction = models.CharField(_("direction"), max_length=10, choices=Direction.choices, default=Direction.INBOUND)
    occurred_at = models.DateTimeField(_("occurred at"), default=timezone.now)
    summary = models.CharField(_("summary"), max_length=1000, blank=True)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2, null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, default="JPY")
    order_reference = models.CharField(_("order reference"), max_length=100, blank=True)
    campaign = models.CharField(_("campaign"), max_length=100, blank=True)
    utm_source = models.CharField(_("UTM source"), max_length=100, blank=True)
    metadata = models.JSONField(_("metadata"), default=dict, blank=True)
    source = models.CharField(_("recorded via"), max_length=10, choices=Source.choices, default=Source.STAFF)
    recorded_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # covered by touchpoint_user_idx
    )
    recorded_by_api_key = models.ForeignKey(
        "ApiKey",
        verbose_name=_("recorded with API key"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="touchpoints",
        db_index=False,  # covered by touchpoint_api_key_idx
    )
    idempotency_key = models.CharField(
        _("idempotency key"),
        max_length=200,
        blank=True,
        help_text=_("A retried request with the same key records nothing new."),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    objects = TouchpointQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = _("touchpoint")
        verbose_name_plural = _("touchpoints")
        permissions = [("view_funnel", _("Can view the journey funnel"))]
        constraints = [
            models.UniqueConstraint(
                "idempotency_key", condition=~Q(idempotency_key=""), name="touchpoint_idempotency_key_unique"
            ),
            models.CheckConstraint(
                condition=Q(amount__isnull=True) | Q(amount__gte=0), name="touchpoint_amount_not_negative"
            ),
            models.CheckConstraint(condition=Q(stage__in=STAGE_ORDER), name="touchpoint_stage_valid"),
        ]
        indexes = [
            # The customer's timeline, newest first (and the API's list of a customer's touchpoints).
            models.Index(fields=["customer", "-occurred_at", "-id"], name="touchpoint_customer_idx"),
            # The list page, unfiltered and by each whitelisted filter, in its keyset order.
            models.Index(fields=["-occurred_at", "-id"], name="touchpoint_occurred_idx"),
            models.Index(fields=["type", "-occurred_at", "-id"], name="touchpoint_type_idx"),
            models.Index(fields=["stage", "-occurred_at", "-id"], name="touchpoint_stage_idx"),
            models.Index(fields=["channel", "-occurred_at", "-id"], name="touchpoint_channel_idx"),
            models.Index(
                fields=["recorded_by_user", "-occurred_at", "-id"],
                name="touchpoint_user_idx",
                condition=Q(recorded_by_user__isnull=False),
            ),
            models.Index(
                fields=["recorded_by_api_key", "-occurred_at", "-id"],
                name="touchpoint_api_key_idx",
                condition=Q(recorded_by_api_key__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} · {self.occurred_at:%Y-%m-%d}"

    @property
    def stage_rank(self) -> int:
        return stage_rank(self.stage)


class CustomerJourney(models.Model):
    """Where a customer stands now: one row per customer, created by their first touchpoint."""

    customer = models.OneToOneField(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="journey"
    )
    stage = models.CharField(_("stage"), max_length=20, choices=Stage.choices)
    stage_since = models.DateTimeField(_("in this stage since"))
    created_at = models.DateTimeField(_("entered the journey"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["-stage_since", "-id"]
        verbose_name = _("customer journey")
        verbose_name_plural = _("customer journeys")
        permissions = [("move_stage", _("Can move a customer to another journey stage by hand"))]
        constraints = [models.CheckConstraint(condition=Q(stage__in=STAGE_ORDER), name="journey_stage_valid")]
        indexes = [models.Index(fields=["stage", "-stage_since"], name="journey_stage_idx")]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.get_stage_display()}"

    @property
    def stage_rank(self) -> int:
        return stage_rank(self.stage)


class StageTransition(models.Model):
    """One change of a customer's stage: the funnel and the time spent in each stage are measured from these."""

    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="stage_transitions",
        db_index=False,  # covered by transition_customer_idx
    )
    from_stage = models.CharField(_("from"), max_length=20, choices=Stage.choices, blank=True)
    to_stage = models.CharField(_("to"), max_length=20, choices=Stage.choices)
    at = models.DateTimeField(_("at"))
    ended_at = models.DateTimeField(
        _("left the stage at"), null=True, blank=True, help_text=_("When the next transition happened.")
    )
    is_manual = models.BooleanField(_("moved by hand"), default=False)
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    touchpoint = models.ForeignKey(
        Touchpoint,
        verbose_name=_("touchpoint"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="stage_transitions",
    )
    channel = models.CharField(
        _("channel"), max_length=20, choices=Channel.choices, blank=True, help_text=_("The touchpoint's channel.")
    )
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # transition_by_idx: only the moves made by hand have one
    )

    objects = StageTransitionQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("stage transition")
        verbose_name_plural = _("stage transitions")
        constraints = [
            models.CheckConstraint(condition=~Q(from_stage=models.F("to_stage")), name="transition_changes_stage"),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gte=models.F("at")), name="transition_ends_after_start"
            ),
        ]
        indexes = [
            # The customer's timeline.
            models.Index(fields=["customer", "-at", "-id"], name="transition_customer_idx"),
            models.Index(fields=["by"], name="transition_by_idx", condition=Q(by__isnull=False)),
            # No index holds ``ended_at`` (the funnel reads its rollups, touchpoints/funnel.py), so closing a stage
            # when the next begins can be a heap-only update (the table keeps room on each page for it: 0007).
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.from_stage or '—'} → {self.to_stage}"


class ApiScope(models.TextChoices):
    """What an API key may do; each API view names the scopes it needs (``required_scopes``)."""

    READ = "read", _("Read (customers' touchpoints, tickets, memberships)")
    INGEST = "ingest", _("Ingest (record touchpoints, open tickets)")
    CUSTOMERS_WRITE = "customers:write", _("Customers write (create or update customers)")
    LOYALTY = "loyalty", _("Loyalty (redeem rewards)")
    # The widget's ``email_verified``: the key's owner checked the sender's address itself (a logged-in shopper),
    # so the ticket opens at once instead of waiting for the confirmation link (feedback/api.py).
    TICKETS_VERIFIED = "tickets:verified", _("Vouch for senders' addresses (widget tickets open without confirmation)")


def api_scopes_all() -> list[str]:
    """Every scope but vouching for addresses: the default of the keys made before scopes existed, so their
    integrations keep working (none of them vouched: that is granted to a key on purpose)."""
    return [s for s in ApiScope.values if s != ApiScope.TICKETS_VERIFIED]


class ApiKey(models.Model):
    """A key for the ingest API. Only a SHA-256 of the key is stored; the key itself is shown once."""

    name = models.CharField(_("name"), max_length=100)
    scopes = models.JSONField(_("scopes"), default=api_scopes_all, help_text=_("What the key may do."))
    prefix = models.CharField(_("prefix"), max_length=16, unique=True, help_text=_("The key's first characters."))
    key_hash = models.CharField(_("key hash"), max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def get_scopes_display(self) -> list[str]:
        return [str(ApiScope(s).label) for s in ApiScope.values if s in (self.scopes or [])]


# ==================================================================================================
# The journey funnel's rollups (issue 3): counts per day and per month, kept in step by the services
# (``touchpoints.funnel``). ``pending`` rows are deltas appended by the writes (no row is updated on the
# hot path); ``funnel_fold`` sums them into the other rows, which are unique per key. The funnel reads
# both, so its figures are exact between folds, but for large batches, which only note their stage changes
# in ``FunnelJournal`` until the next fold. ``manage.py funnel_rebuild`` recomputes everything.
# ==================================================================================================


class FunnelGrain(models.IntegerChoices):
    DAY = 0, _("Day")
    MONTH = 1, _("Month")
    DEKAD = 2, _("Ten days")  # the 1st–10th, 11th–20th, 21st–end of a month
    QUARTER = 3, _("Quarter")


class FunnelReach(models.Model):
    """Customers who first crossed ``stage`` on ``day`` (or in its ten days, month or quarter) and first crossed
    the next stage on ``next_day`` (or in its month; 9999-12-31 when they have not), per source and channel."""

    pending = models.BooleanField(_("pending"), default=False)
    kind = models.CharField(_("split"), max_length=7)  # "source" or "channel"
    key = models.CharField(_("group"), max_length=20, blank=True)
    stage = models.PositiveSmallIntegerField(_("stage rank"))
    day_grain = models.PositiveSmallIntegerField(_("day grain"), choices=FunnelGrain.choices)
    day = models.DateField(_("day"))
    next_grain = models.PositiveSmallIntegerField(_("next day grain"), choices=FunnelGrain.choices)
    next_day = models.DateField(_("next stage day"))
    n = models.IntegerField(_("number of customers"))

    class Meta:
        verbose_name = _("funnel reach count")
        verbose_name_plural = _("funnel reach counts")
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "key", "stage", "day_grain", "day", "next_grain", "next_day"],
                condition=Q(pending=False),
                name="funnelreach_key_unique",
            ),
        ]
        indexes = [
            # Reached (and converted by an earlier month): a range of days, or of months.
            models.Index(
                fields=["day_grain", "day", "next_day", "kind", "key", "stage", "n"],
                condition=Q(next_grain=1, pending=False),
                name="funnelreach_day_idx",
            ),
            # Converted on a day of the period's last month: a few days of ``next_day``, per grain.
            models.Index(
                fields=["day_grain", "next_day", "day", "kind", "key", "stage", "n"],
                condition=Q(next_grain=0, pending=False),
                name="funnelreach_next_idx",
            ),
            # The deltas not folded yet (at day grain only): read with every period, folded every minute.
            models.Index(fields=["day"], condition=Q(pending=True), name="funnelreach_pending_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.key} {self.stage} {self.day}→{self.next_day}: {self.n}"


class FunnelStay(models.Model):
    """Stays in ``stage`` that began on ``day`` (or its ten days, month or quarter) and have ended, per bucket:
    their number and total hours (for the median days in stage), overall, per source and per channel."""

    pending = models.BooleanField(_("pending"), default=False)
    kind = models.CharField(_("split"), max_length=7)  # "all", "source" or "channel"
    key = models.CharField(_("group"), max_length=20, blank=True)
    stage = models.PositiveSmallIntegerField(_("stage rank"))
    day_grain = models.PositiveSmallIntegerField(_("day grain"), choices=FunnelGrain.choices)
    day = models.DateField(_("day"))
    bucket = models.PositiveSmallIntegerField(_("duration bucket"))
    n = models.IntegerField(_("number of stays"))
    hours = models.FloatField(_("total hours"))

    class Meta:
        verbose_name = _("funnel stay count")
        verbose_name_plural = _("funnel stay counts")
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "key", "stage", "day_grain", "day", "bucket"],
                condition=Q(pending=False),
                name="funnelstay_key_unique",
            ),
        ]
        indexes = [
            models.Index(
                fields=["day_grain", "day", "kind", "key", "stage", "bucket", "n", "hours"],
                condition=Q(pending=False),
                name="funnelstay_day_idx",
            ),
            models.Index(fields=["day"], condition=Q(pending=True), name="funnelstay_pending_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.key} {self.stage} {self.day} #{self.bucket}: {self.n}"


class FunnelJournal(models.Model):
    """Stage transitions a batch added (``closed`` false) or ended (``closed`` true) that the funnel's rollups do
    not count yet. A small batch turns its customers' entries into pending rows at once; a large one leaves them to
    ``funnel_fold``, a minute later at most (it does not work the rollups out while its customers are locked, and
    many batches are worked out in one statement); a manual move or a merge turns its customers' entries first."""

    customer_id = models.BigIntegerField(_("customer"), db_index=True)  # not a foreign key: rows live a minute
    transition_id = models.BigIntegerField(_("stage transition"))
    closed = models.BooleanField(_("closed"))

    class Meta:
        verbose_name = _("funnel journal entry")
        verbose_name_plural = _("funnel journal entries")

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.transition_id}{' closed' if self.closed else ''}"


class JourneyPending(models.Model):
    """A touchpoint of a large API batch whose journey advancement is left to a task run right after the commit
    (``journeys_fold_pending``): the request only writes the touchpoints. Any advancement of the customer (the task,
    a later batch, a manual move, a merge) takes their pending rows first, so the stages are reached in the order the
    touchpoints happened; the periodic funnel fold takes what a lost task left."""

    touchpoint_id = models.BigIntegerField(_("touchpoint"), primary_key=True)  # not foreign keys: rows live seconds
    customer_id = models.BigIntegerField(_("customer"), db_index=True)

    class Meta:
        verbose_name = _("pending journey advancement")
        verbose_name_plural = _("pending journey advancements")

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.touchpoint_id}"
