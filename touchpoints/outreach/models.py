"""Outreach: message templates, the outbox, follow-up rules, staff tasks and broadcasts.

Every message to a customer is an ``OutboundMessage`` row with a unique key, written by
``outbox.message_enqueue`` and sent by ``outbox.messages_send`` (docs/outbox.md has the exactly-once design).
Follow-ups and broadcasts are rows with a due time, picked up by periodic dispatchers; nothing waits in the
broker for longer than a few minutes. The tables keep the names they had in the touchpoints app (``db_table``).
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
from touchpoints.models import Channel, Stage, Touchpoint, TouchpointType

from .querysets import OutboundMessageQuerySet, StaffTaskQuerySet


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
    # LINE: a text per language (empty: the email body is used), with an optional link button.
    # Database defaults too: other apps' data migrations insert templates with a historical model that lacks these.
    line_body_ja = models.TextField(_("LINE text (Japanese)"), max_length=5000, blank=True, db_default="")
    line_body_en = models.TextField(_("LINE text (English)"), max_length=5000, blank=True, db_default="")
    line_button_label_ja = models.CharField(_("LINE button label (Japanese)"), max_length=20, blank=True, db_default="")
    line_button_label_en = models.CharField(_("LINE button label (English)"), max_length=20, blank=True, db_default="")
    line_button_url = models.URLField(_("LINE button link"), max_length=500, blank=True, db_default="")
    line_first = models.BooleanField(
        _("LINE if linked, otherwise email"),
        default=False,
        db_default=False,
        help_text=_("Sent by LINE to customers who follow the shop's LINE account, by email to the others."),
    )

    class BodyFormat(models.TextChoices):
        PLAIN = "plain", _("Plain text")
        MARKDOWN = "markdown", _("Formatted (Markdown: HTML mail with a plain-text part)")

    body_format = models.CharField(
        _("body format"),
        max_length=10,
        choices=BodyFormat.choices,
        default=BodyFormat.PLAIN,
        # Also a database default: the data migrations of other apps insert templates with their historical model,
        # which has no such field.
        db_default=BodyFormat.PLAIN,
        help_text=_("Formatted: **bold**, # headings, - lists, [links](https://…), ![images](https://…) by URL."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        db_table = "touchpoints_messagetemplate"
        ordering = ["name", "id"]
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")
        # A service message goes to customers who never consented to marketing: only managers choose one for a
        # rule, or make a template one (roles.SERVICE_MESSAGE_PERMISSIONS).
        permissions = [("send_service_message", _("Can send service messages from rules and mark templates so"))]
        constraints = [
            models.CheckConstraint(
                condition=~Q(body_ja="") | ~Q(body_en="") | ~Q(line_body_ja="") | ~Q(line_body_en=""),
                name="messagetemplate_has_a_body",
                violation_error_message=_("Write the message in Japanese, in English, or both."),
            ),
        ]

    def __str__(self) -> str:
        return self.label

    def get_absolute_url(self) -> str:
        return reverse("outreach:template_update", args=[self.pk])

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

    def line_text_for(self, language: str) -> tuple[str, str]:
        """(LINE text, button label) in ``language``: the LINE text, else the email body, of that language first."""
        order = ["ja", "en"] if language == "ja" else ["en", "ja"]
        for code in order:
            text = getattr(self, f"line_body_{code}") or getattr(self, f"body_{code}")
            if text:
                label = (
                    getattr(self, f"line_button_label_{code}") or self.line_button_label_ja or self.line_button_label_en
                )
                return text, label
        return "", ""


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
        db_table = "touchpoints_followuprule"
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
        return reverse("outreach:rule_update", args=[self.pk])

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
        TASK_CAPPED = "task_capped", _("Skipped: the customer already has open tasks")

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
        db_table = "touchpoints_followup"
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
        db_table = "touchpoints_broadcast"
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
        return reverse("outreach:broadcast_detail", args=[self.pk])


TEST_SOURCE = "test"  # the ``source_app`` of test sends (OutboundMessage.is_test)


class OutboundMessage(models.Model):
    """The outbox: one row per message to one customer, unique by ``key``; see touchpoints/outreach/outbox/."""

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
        BOUNCED = "bounced", _("The address bounces")
        LINE_UNREACHABLE = "line_unreachable", _("Not following on LINE (or blocked)")

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
    # LINE: the button's link, and the X-Line-Retry-Key of the request that carries the message (set, and
    # committed, before the request leaves; a retry reuses it, so LINE answers 409 instead of sending twice).
    link_url = models.CharField(_("link"), max_length=500, blank=True)
    link_label = models.CharField(_("link label"), max_length=40, blank=True)
    retry_key = models.UUIDField(null=True, blank=True, editable=False)
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
        db_table = "touchpoints_outboundmessage"
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
            # A LINE request's rows, claimed together when it is retried.
            models.Index(
                fields=["retry_key"], name="outbox_retry_key_idx", condition=Q(status__in=["queued", "sending"])
            ),
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
        return reverse("outreach:outbox_detail", args=[self.pk])

    @property
    def is_test(self) -> bool:
        """A test send to a staff member (a broadcast's "send a test to me"): sent to ``to_address`` as it is,
        never counted for the customer whose details filled it in, never on their timeline."""
        return self.source_app == TEST_SOURCE


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
        db_table = "touchpoints_stafftask"
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


# Inbound mail's models live with the mail channel; imported here so the app registry finds them.
from .channels.mailbox.models import (  # noqa: E402, F401
    BouncedAddress,
    DeliveryReport,
    InboundAttachment,
    InboundMail,
    Mailbox,
)
from .line.models import LineLinkRequest, LineThrottle, LineUser, LineWebhookEvent  # noqa: E402

__all__ = [
    "Broadcast",
    "FollowUp",
    "FollowUpRule",
    "LineLinkRequest",
    "LineThrottle",
    "LineUser",
    "LineWebhookEvent",
    "MessageChannel",
    "MessageTemplate",
    "OutboundMessage",
    "Purpose",
    "StaffTask",
]
