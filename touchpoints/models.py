"""The customer journey: touchpoint catalogue, touchpoints, each customer's stage and its history, API keys.

Rows are written only by the services in ``touchpoints/services.py``; the database holds the invariants
(one journey per customer, one touchpoint per idempotency key, no negative amounts).
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from customers.models import Customer

from .querysets import (
    OutboundMessageQuerySet,
    StaffTaskQuerySet,
    StageTransitionQuerySet,
    TouchpointQuerySet,
    TouchpointTypeQuerySet,
)


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


class ApiKey(models.Model):
    """A key for the ingest API. Only a SHA-256 of the key is stored; the key itself is shown once."""

    name = models.CharField(_("name"), max_length=100)
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


# ==================================================================================================
# Outreach: message templates, the outbox, follow-up rules, staff tasks and broadcasts (issue 4).
#
# Every message to a customer is an ``OutboundMessage`` row with a unique key, written by
# ``touchpoints.outbox.message_enqueue`` and sent by ``touchpoints.outbox.messages_send`` (see the
# module docstring there for the exactly-once design). Follow-ups and broadcasts are rows with a due
# time, picked up by periodic dispatchers; nothing waits in the broker for longer than a few minutes.
# ==================================================================================================


def SWITCH_OFF_RULE(collector, field, sub_objs, using):  # noqa: N802 (named like Django's on_delete handlers)
    """on_delete for a rule's segment: a rule whose segment is deleted is switched off, never broadened."""
    collector.add_field_update(field, None, sub_objs)
    collector.add_field_update(field.model._meta.get_field("is_active"), False, sub_objs)


class Purpose(models.TextChoices):
    MARKETING = "marketing", _("Marketing (needs consent)")
    TRANSACTIONAL = "transactional", _("Transactional (service message)")


class MessageChannel(models.TextChoices):
    """Email is sent; the others become a staff task until a provider is configured."""

    EMAIL = "email", _("Email")
    LINE = "line", _("LINE")
    SMS = "sms", _("SMS")
    PHONE = "phone", _("Phone")


class MessageTemplate(models.Model):
    """A message staff write once, in Japanese and English, with placeholders such as ``{customer_name}``."""

    name = models.CharField(_("name"), max_length=100)
    slug = models.SlugField(
        _("slug"), max_length=50, unique=True, help_text=_("Stable identifier; the apps that send it refer to it.")
    )
    channel = models.CharField(
        _("channel"), max_length=10, choices=MessageChannel.choices, default=MessageChannel.EMAIL
    )
    purpose = models.CharField(_("purpose"), max_length=15, choices=Purpose.choices, default=Purpose.MARKETING)
    subject_ja = models.CharField(_("subject (Japanese)"), max_length=200, blank=True)
    body_ja = models.TextField(_("body (Japanese)"), max_length=20_000, blank=True)
    subject_en = models.CharField(_("subject (English)"), max_length=200, blank=True)
    body_en = models.TextField(_("body (English)"), max_length=20_000, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")
        # A service message goes to customers who never consented to marketing: only managers choose one for a
        # rule, or make a template one (roles.SERVICE_MESSAGE_PERMISSIONS).
        permissions = [("send_service_message", _("Can send service messages from rules and mark templates so"))]
        constraints = [
            models.CheckConstraint(
                condition=~Q(body_ja="") | ~Q(body_en=""),
                name="messagetemplate_has_a_body",
                violation_error_message=_("Write the message in Japanese, in English, or both."),
            ),
        ]

    def __str__(self) -> str:
        return self.label

    def get_absolute_url(self) -> str:
        return reverse("touchpoints:template_update", args=[self.pk])

    @property
    def label(self) -> str:
        """The name in the reader's language: the templates the apps seed have theirs in the message catalogue,
        one staff write shows as typed."""
        return gettext(self.name) if self.name else ""

    def text_for(self, language: str) -> tuple[str, str, str]:
        """(language, subject, body) in ``language``, or in the other one when that version is empty."""
        order = ["ja", "en"] if language == "ja" else ["en", "ja"]
        for code in order:
            body = getattr(self, f"body_{code}")
            if body:
                return code, getattr(self, f"subject_{code}"), body
        return language, "", ""


class FollowUpRule(models.Model):
    """When something happens to a customer, do something a while later (unless things changed)."""

    class Trigger(models.TextChoices):
        TOUCHPOINT = "touchpoint", _("A touchpoint of a type is recorded")
        STAGE = "stage", _("The customer enters a stage")
        INACTIVE = "inactive", _("No touchpoint for a number of days")

    class Action(models.TextChoices):
        SEND = "send", _("Send a message template")
        TASK = "task", _("Create a task for staff")

    class AssignTo(models.TextChoices):
        OWNER = "owner", _("The customer's owner")
        GROUP = "group", _("A team")

    class DelayUnit(models.TextChoices):
        MINUTES = "minutes", _("minutes")
        HOURS = "hours", _("hours")
        DAYS = "days", _("days")

    name = models.CharField(_("name"), max_length=100)
    is_active = models.BooleanField(_("active"), default=True)
    trigger = models.CharField(_("trigger"), max_length=12, choices=Trigger.choices)
    trigger_type = models.ForeignKey(
        TouchpointType,
        verbose_name=_("touchpoint type"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    trigger_stage = models.CharField(_("stage entered"), max_length=20, choices=Stage.choices, blank=True)
    inactive_days = models.PositiveSmallIntegerField(_("days without a touchpoint"), null=True, blank=True)
    # The daily scan of inactive customers has looked at last activities up to here (see rules.py).
    inactive_scanned_until = models.DateTimeField(null=True, blank=True, editable=False)
    delay_amount = models.PositiveIntegerField(_("delay"), default=0)
    delay_unit = models.CharField(_("delay unit"), max_length=10, choices=DelayUnit.choices, default=DelayUnit.DAYS)
    condition_segment = models.ForeignKey(
        "customers.Segment",
        verbose_name=_("only customers in segment"),
        on_delete=SWITCH_OFF_RULE,
        null=True,
        blank=True,
        related_name="+",
    )
    condition_stages = models.JSONField(
        _("only customers now in these stages"), default=list, blank=True, help_text=_("Empty: any stage.")
    )
    condition_consent = models.BooleanField(
        _("only customers who accept marketing"),
        default=False,
        help_text=_("Marketing messages always need consent; this also applies the rule's tasks to them only."),
    )
    stop_if_purchased = models.BooleanField(
        _("cancel if the customer buys meanwhile"), default=True, help_text=_("A purchase after the trigger.")
    )
    cap_days = models.PositiveSmallIntegerField(
        _("at most one marketing message per customer in N days"),
        default=7,
        help_text=_("0: no cap. Counts every marketing message, whatever sent it."),
    )
    action = models.CharField(_("action"), max_length=10, choices=Action.choices, default=Action.SEND)
    template = models.ForeignKey(
        MessageTemplate,
        verbose_name=_("message template"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="rules",
    )
    task_title = models.CharField(_("task"), max_length=200, blank=True, help_text=_("What staff should do."))
    task_channel = models.CharField(_("task channel"), max_length=20, choices=Channel.choices, default=Channel.PHONE)
    assign_to = models.CharField(_("assign to"), max_length=10, choices=AssignTo.choices, default=AssignTo.OWNER)
    assign_group = models.ForeignKey(
        "auth.Group", verbose_name=_("team"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("follow-up rule")
        verbose_name_plural = _("follow-up rules")
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(trigger="touchpoint", trigger_type__isnull=False)
                    | Q(trigger="stage") & ~Q(trigger_stage="")
                    | Q(trigger="inactive", inactive_days__gte=1)
                ),
                name="followuprule_trigger_complete",
            ),
            models.CheckConstraint(
                condition=Q(action="send", template__isnull=False) | Q(action="task") & ~Q(task_title=""),
                name="followuprule_action_complete",
            ),
        ]
        indexes = [
            models.Index(fields=["trigger", "trigger_type"], name="rule_trigger_idx", condition=Q(is_active=True)),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("touchpoints:rule_update", args=[self.pk])

    MAX_DELAY_DAYS = 366

    def clean(self) -> None:
        super().clean()
        unit_days = {self.DelayUnit.MINUTES: 1 / 1440, self.DelayUnit.HOURS: 1 / 24, self.DelayUnit.DAYS: 1}
        if self.delay_amount and self.delay_amount * unit_days.get(self.delay_unit, 1) > self.MAX_DELAY_DAYS:
            # A delay of a billion days overflowed the date of every follow-up of the trigger, other rules' too.
            raise ValidationError({"delay_amount": _("Choose a delay of at most a year.")})

    @property
    def delay(self):
        import datetime as dt

        return dt.timedelta(**{self.delay_unit: self.delay_amount})


class FollowUp(models.Model):
    """One scheduled follow-up: a rule met a trigger. Unique per (rule, trigger), so it is scheduled once."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")

    class Outcome(models.TextChoices):
        NONE = "", _("—")
        MESSAGE = "message", _("Message queued")
        TASK = "task", _("Task created")
        PURCHASED = "purchased", _("Cancelled: the customer bought meanwhile")
        CONDITIONS = "conditions", _("Cancelled: conditions no longer met")
        RULE_OFF = "rule_off", _("Cancelled: the rule was switched off")
        CAPPED = "capped", _("Skipped: frequency cap")

    rule = models.ForeignKey(FollowUpRule, verbose_name=_("rule"), on_delete=models.CASCADE, related_name="followups")
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="followups"
    )
    trigger_key = models.CharField(_("trigger"), max_length=100)
    triggered_at = models.DateTimeField(_("triggered at"))
    touchpoint = models.ForeignKey(
        Touchpoint, verbose_name=_("triggering touchpoint"), on_delete=models.SET_NULL, null=True, blank=True
    )
    due_at = models.DateTimeField(_("due at"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.SCHEDULED)
    outcome = models.CharField(_("outcome"), max_length=12, choices=Outcome.choices, blank=True)
    dispatched_at = models.DateTimeField(_("dispatched at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["-due_at", "-id"]
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        constraints = [
            models.UniqueConstraint(fields=["rule", "trigger_key"], name="followup_once_per_trigger"),
        ]
        indexes = [
            models.Index(fields=["due_at", "id"], name="followup_due_idx", condition=Q(status="scheduled")),
            models.Index(fields=["customer", "-due_at"], name="followup_customer_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.rule} · {self.customer_id} · {self.due_at:%Y-%m-%d %H:%M}"


class Broadcast(models.Model):
    """A template sent to a segment, now or at a time; prepared into the outbox in batches by a task."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        PREPARING = "preparing", _("Preparing")
        SENDING = "sending", _("Sending")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")

    name = models.CharField(_("name"), max_length=100)
    template = models.ForeignKey(
        MessageTemplate, verbose_name=_("message template"), on_delete=models.PROTECT, related_name="broadcasts"
    )
    # A deleted segment leaves its broadcasts' history; one still preparing stops there.
    segment = models.ForeignKey(
        "customers.Segment", verbose_name=_("segment"), on_delete=models.SET_NULL, null=True, related_name="+"
    )
    send_at = models.DateTimeField(_("send at"), help_text=_("Leave as now to send at once."))
    cap_days = models.PositiveSmallIntegerField(
        _("skip customers who got a marketing message in the last N days"), default=0, help_text=_("0: no cap.")
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.SCHEDULED)
    total = models.PositiveIntegerField(_("customers in the segment"), default=0)
    prepared_count = models.PositiveIntegerField(_("prepared"), default=0)
    # Preparation resumes after this customer id (customers are taken in id order).
    cursor = models.BigIntegerField(default=0, editable=False)
    heartbeat_at = models.DateTimeField(null=True, blank=True, editable=False)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    prepared_at = models.DateTimeField(_("prepared at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    counts = models.JSONField(_("final counts"), default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["-send_at", "-id"]
        verbose_name = _("broadcast")
        verbose_name_plural = _("broadcasts")
        indexes = [
            models.Index(
                fields=["status", "send_at"],
                name="broadcast_due_idx",
                condition=Q(status__in=["scheduled", "preparing", "sending"]),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("touchpoints:broadcast_detail", args=[self.pk])


class OutboundMessage(models.Model):
    """The outbox: one row per message to one customer, unique by ``key``; see touchpoints/outbox.py."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        SKIPPED = "skipped", _("Skipped")

    class SkipReason(models.TextChoices):
        NONE = "", _("—")
        NO_CONSENT = "no_consent", _("No marketing consent")
        OPTED_OUT = "opted_out", _("Opted out")
        DO_NOT_CONTACT = "do_not_contact", _("Do not contact")
        NO_ADDRESS = "no_address", _("No address")
        QUIET_HOURS = "quiet_hours", _("Quiet hours (deferred)")
        CAPPED = "capped", _("Frequency cap")
        CANCELLED = "cancelled", _("Cancelled")
        STAFF_TASK = "staff_task", _("Handed to staff (no provider for the channel)")

    key = models.CharField(_("key"), max_length=150, unique=True)
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="outbound_messages",
        db_index=False,  # covered by outbox_customer_idx
    )
    template = models.ForeignKey(
        MessageTemplate,
        verbose_name=_("template"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="messages",
    )
    channel = models.CharField(_("channel"), max_length=10, choices=MessageChannel.choices)
    purpose = models.CharField(_("purpose"), max_length=15, choices=Purpose.choices)
    language = models.CharField(_("language"), max_length=5)
    to_address = models.CharField(_("to"), max_length=254, blank=True)
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    body = models.TextField(_("body"), blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    skip_reason = models.CharField(_("reason"), max_length=20, choices=SkipReason.choices, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("not before"), default=timezone.now)
    # When a send task was last handed to the broker for this row (null: none is pending).
    enqueued_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The send attempt holding the row while it is ``sending``, and when it claimed it.
    claim_token = models.UUIDField(null=True, blank=True, editable=False)
    claimed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Committed just before the mail server is told to take the message (the SMTP end of data).
    handed_over_at = models.DateTimeField(_("handed to the mail server at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    followup = models.ForeignKey(
        FollowUp,
        verbose_name=_("follow-up"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="messages",
        db_index=False,  # covered by outbox_followup_idx
    )
    broadcast = models.ForeignKey(
        Broadcast,
        verbose_name=_("broadcast"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="messages",
        db_index=False,  # covered by outbox_broadcast_idx
    )
    touchpoint = models.ForeignKey(
        Touchpoint,
        verbose_name=_("timeline entry"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    # Which app asked for the message (loyalty, feedback…) and its own reference, for its pages.
    source_app = models.CharField(_("sent for"), max_length=30, blank=True)
    source_ref = models.CharField(_("reference"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = OutboundMessageQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("outbound message")
        verbose_name_plural = _("outbound messages")
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["queued", "sending", "sent", "failed", "skipped"]), name="outbox_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status="sending") | Q(claim_token__isnull=False), name="outbox_sending_is_claimed"
            ),
            models.CheckConstraint(condition=~Q(status="sent") | Q(sent_at__isnull=False), name="outbox_sent_has_time"),
        ]
        indexes = [
            # The sweeper: queued rows by due time, and rows held by a send attempt.
            models.Index(fields=["status", "next_attempt_at"], name="outbox_due_idx", condition=Q(status="queued")),
            models.Index(fields=["claim_token"], name="outbox_claim_idx", condition=Q(claim_token__isnull=False)),
            # Sent rows still missing their timeline entry (normally none).
            models.Index(
                fields=["sent_at"], name="outbox_untracked_idx", condition=Q(status="sent", touchpoint__isnull=True)
            ),
            # The outbox page, unfiltered and by status, newest first.
            models.Index(fields=["-created_at", "-id"], name="outbox_created_idx"),
            models.Index(fields=["status", "-created_at", "-id"], name="outbox_status_idx"),
            # A customer's messages (frequency cap, unsubscribe) and each source's messages.
            models.Index(fields=["customer", "-created_at"], name="outbox_customer_idx"),
            models.Index(
                fields=["broadcast", "status"], name="outbox_broadcast_idx", condition=Q(broadcast__isnull=False)
            ),
            models.Index(fields=["followup"], name="outbox_followup_idx", condition=Q(followup__isnull=False)),
        ]

    def __str__(self) -> str:
        return self.key

    def get_absolute_url(self) -> str:
        return reverse("touchpoints:outbox_detail", args=[self.pk])


class StaffTask(models.Model):
    """Something a person must do for a customer: a call, a LINE message with no provider, a visit."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="staff_tasks"
    )
    title = models.CharField(_("task"), max_length=200)
    note = models.TextField(_("note"), max_length=20_000, blank=True)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices, default=Channel.PHONE)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assigned to"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="staff_tasks",
        db_index=False,  # covered by task_assignee_idx
    )
    group = models.ForeignKey(
        "auth.Group", verbose_name=_("team"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    due_at = models.DateTimeField(_("due"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    followup = models.OneToOneField(
        FollowUp, verbose_name=_("follow-up"), on_delete=models.SET_NULL, null=True, blank=True, related_name="task"
    )
    message = models.OneToOneField(
        OutboundMessage,
        verbose_name=_("message"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="task",
    )
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("done by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    touchpoint = models.ForeignKey(
        Touchpoint, verbose_name=_("logged as"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = StaffTaskQuerySet.as_manager()

    class Meta:
        ordering = ["due_at", "id"]
        verbose_name = _("staff task")
        verbose_name_plural = _("staff tasks")
        indexes = [
            models.Index(fields=["assignee", "due_at", "id"], name="task_assignee_idx", condition=Q(status="open")),
            models.Index(fields=["group", "due_at", "id"], name="task_group_idx", condition=Q(status="open")),
            models.Index(fields=["customer", "-created_at"], name="task_customer_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_overdue(self) -> bool:
        return self.status == self.Status.OPEN and self.due_at < timezone.now()


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
