"""Feedback: tickets and their conversation, SLA policies and the business calendar, surveys.

Rows are written only by the services in ``feedback/services/``; the database holds the invariants
(one warning per ticket and kind, one CSAT per ticket, one follow-up ticket per survey answer, scores in
range, a resolved ticket has its resolution time).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from customers import system_text
from customers.models import Customer

from .querysets import SurveyQuerySet, TicketMessageQuerySet, TicketQuerySet
from .references import format_reference
from .statuses import ACTIVE_STATUSES, CLOCK_STATUSES, NO_DEADLINE, Priority, Status


class SlaPolicy(models.Model):
    """Targets for one priority (or for follow-up tickets opened by an unhappy survey answer)."""

    name = models.CharField(_("name"), max_length=100)
    priority = models.CharField(
        _("priority"),
        max_length=10,
        choices=Priority.choices,
        blank=True,
        help_text=_("The tickets this policy applies to; empty for the follow-up policy."),
    )
    is_follow_up = models.BooleanField(
        _("for follow-up tickets"),
        default=False,
        help_text=_("Applies to tickets opened by a detractor or an unhappy CSAT answer, whatever their priority."),
    )
    first_response_minutes = models.PositiveIntegerField(_("first response within (minutes)"))
    resolution_minutes = models.PositiveIntegerField(_("resolution within (minutes)"))
    business_hours = models.BooleanField(
        _("count business hours only"),
        default=True,
        help_text=_("Count only the working week's hours, skipping holidays; otherwise count every hour."),
    )
    warn_before_minutes = models.PositiveIntegerField(
        _("warn before a breach (minutes)"), default=60, help_text=_("The assignee and managers are warned then.")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["is_follow_up", "priority", "id"]
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        constraints = [
            models.UniqueConstraint(
                "priority", condition=Q(is_follow_up=False), name="feedback_slapolicy_priority_unique"
            ),
            models.UniqueConstraint(
                "is_follow_up", condition=Q(is_follow_up=True), name="feedback_slapolicy_one_follow_up"
            ),
            models.CheckConstraint(
                condition=Q(is_follow_up=True) | ~Q(priority=""), name="feedback_slapolicy_has_priority"
            ),
            models.CheckConstraint(
                condition=Q(first_response_minutes__gt=0)
                & Q(resolution_minutes__gte=models.F("first_response_minutes")),
                name="feedback_slapolicy_targets_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        """The name in the reader's language: the seeded policies' names are in the message catalogue (migration
        0002), a policy a manager names shows as typed."""
        return gettext(self.name) if self.name else ""


class BusinessHours(models.Model):
    """One opening interval of the working week, in the business time zone; a day may have several."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, _("Monday")
        TUESDAY = 1, _("Tuesday")
        WEDNESDAY = 2, _("Wednesday")
        THURSDAY = 3, _("Thursday")
        FRIDAY = 4, _("Friday")
        SATURDAY = 5, _("Saturday")
        SUNDAY = 6, _("Sunday")

    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    opens_at = models.TimeField(_("opens at"))
    closes_at = models.TimeField(_("closes at"))

    class Meta:
        ordering = ["weekday", "opens_at"]
        verbose_name = _("business hours")
        verbose_name_plural = _("business hours")
        constraints = [
            models.UniqueConstraint("weekday", "opens_at", name="feedback_businesshours_unique"),
            models.CheckConstraint(condition=Q(closes_at__gt=models.F("opens_at")), name="feedback_hours_ordered"),
            models.CheckConstraint(condition=Q(weekday__gte=0, weekday__lte=6), name="feedback_hours_weekday"),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens_at:%H:%M}–{self.closes_at:%H:%M}"


class Holiday(models.Model):
    """A day off in the business calendar (Japanese public holidays are seeded; edit freely)."""

    date = models.DateField(_("date"), unique=True)
    name = models.CharField(_("name"), max_length=100)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["date"]
        verbose_name = _("holiday")
        verbose_name_plural = _("holidays")

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.name}"


class TicketTag(models.Model):
    name = models.CharField(_("name"), max_length=50)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("ticket tag")
        verbose_name_plural = _("ticket tags")
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                name="feedback_tickettag_name_ci_unique",
                violation_error_message=_("A ticket tag with this name already exists."),
            )
        ]

    def __str__(self) -> str:
        return self.name


class Ticket(models.Model):
    class Kind(models.TextChoices):
        COMPLAINT = "complaint", _("Complaint")
        QUESTION = "question", _("Question")
        REQUEST = "request", _("Request")
        SUGGESTION = "suggestion", _("Suggestion")
        PRAISE = "praise", _("Praise")

    class Channel(models.TextChoices):
        EMAIL = "email", _("Email")
        PHONE = "phone", _("Phone")
        WEB_FORM = "web_form", _("Feedback form")
        WIDGET = "widget", _("Website widget (API)")
        LINE = "line", _("LINE")
        STORE = "store", _("In store")
        SURVEY = "survey", _("Survey answer")
        OTHER = "other", _("Other")

    Priority = Priority
    Status = Status

    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="tickets",
        db_index=False,  # covered by ticket_customer_idx
    )
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.QUESTION)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, default=Channel.EMAIL)
    subject = models.CharField(_("subject"), max_length=200)
    # A subject the system wrote (a follow-up's): its key and parameters, shown in the reader's language.
    subject_key = models.CharField(_("subject key"), max_length=60, blank=True, default="")
    subject_params = models.JSONField(_("subject parameters"), blank=True, default=dict)
    body = models.TextField(_("message"), max_length=10_000, blank=True)
    priority = models.CharField(_("priority"), max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.NEW)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_tickets",
    )
    tags = models.ManyToManyField(TicketTag, verbose_name=_("tags"), blank=True, related_name="tickets")
    touchpoint = models.ForeignKey(
        "touchpoints.Touchpoint",
        verbose_name=_("concerns touchpoint"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # covered by ticket_touchpoint_idx
    )
    order_reference = models.CharField(_("order reference"), max_length=100, blank=True)
    # SLA: the policy the due times were computed with, the due times, what happened, the breaches.
    sla_policy = models.ForeignKey(
        SlaPolicy, verbose_name=_("SLA policy"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    first_response_due_at = models.DateTimeField(_("first response due"), null=True, blank=True)
    resolution_due_at = models.DateTimeField(_("resolution due"), null=True, blank=True)
    first_responded_at = models.DateTimeField(_("first responded at"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    first_response_breached = models.BooleanField(_("first response breached"), default=False)
    resolution_breached = models.BooleanField(_("resolution breached"), default=False)
    sla_paused_at = models.DateTimeField(
        _("SLA paused at"), null=True, blank=True, help_text=_("The clock stops while waiting on the customer.")
    )
    # The customer's message that no public reply has answered yet ("New reply" in the queue); set by
    # ticket_receive, cleared by ticket_reply.
    customer_replied_at = models.DateTimeField(_("customer replied at"), null=True, blank=True, editable=False)
    # Derived by the services: the next deadline that runs (NO_DEADLINE when none does) and when to warn.
    next_due_at = models.DateTimeField(_("next deadline"), default=NO_DEADLINE, editable=False)
    next_warn_at = models.DateTimeField(_("warn at"), default=NO_DEADLINE, editable=False)
    # Closing the loop: the unhappy survey answer this follow-up ticket was opened for.
    source_survey = models.OneToOneField(
        "Survey",
        verbose_name=_("opened for survey answer"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="follow_up_ticket",
    )
    loop_closed_at = models.DateTimeField(
        _("loop closed at"), null=True, blank=True, help_text=_("When the customer got a reply to their answer.")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("opened by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    idempotency_key = models.CharField(
        _("idempotency key"), max_length=200, blank=True, help_text=_("A retried API request opens no second ticket.")
    )
    created_at = models.DateTimeField(_("opened at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = TicketQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        permissions = [
            ("view_figures", _("Can view feedback figures")),
            ("bulk_change_ticket", _("Can assign and close tickets in bulk")),
        ]
        constraints = [
            models.UniqueConstraint(
                "idempotency_key", condition=~Q(idempotency_key=""), name="feedback_ticket_idempotency_key_unique"
            ),
            models.CheckConstraint(
                condition=~Q(status=Status.RESOLVED) | Q(resolved_at__isnull=False),
                name="feedback_ticket_resolved_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(status=Status.CLOSED) | Q(closed_at__isnull=False), name="feedback_ticket_closed_has_time"
            ),
        ]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="ticket_created_idx"),
            models.Index(fields=["customer", "-created_at", "-id"], name="ticket_customer_idx"),
            # Queues, most urgent first: every ticket, the active ones, by assignee, status, priority, kind.
            models.Index(fields=["next_due_at", "id"], name="ticket_due_idx"),
            models.Index(
                fields=["next_due_at", "id"], name="ticket_active_due_idx", condition=Q(status__in=ACTIVE_STATUSES)
            ),
            models.Index(
                fields=["next_due_at", "id"],
                name="ticket_replied_due_idx",
                condition=Q(status__in=ACTIVE_STATUSES, customer_replied_at__isnull=False),
            ),
            models.Index(
                fields=["next_due_at", "id"],
                name="ticket_unassigned_idx",
                condition=Q(status__in=ACTIVE_STATUSES, assignee__isnull=True),
            ),
            models.Index(
                fields=["assignee", "next_due_at", "id"],
                name="ticket_assignee_due_idx",
                condition=Q(status__in=ACTIVE_STATUSES),
            ),
            models.Index(fields=["status", "next_due_at", "id"], name="ticket_status_due_idx"),
            models.Index(fields=["status", "-created_at", "-id"], name="ticket_status_created_idx"),
            models.Index(
                fields=["priority", "next_due_at", "id"],
                name="ticket_priority_due_idx",
                condition=Q(status__in=ACTIVE_STATUSES),
            ),
            models.Index(
                fields=["kind", "next_due_at", "id"],
                name="ticket_kind_due_idx",
                condition=Q(status__in=ACTIVE_STATUSES),
            ),
            # The SLA job: tickets entering their warning window, and deadlines passing unmet. The breach flags
            # are in no index (nor index condition), so flagging a breach is a HOT update (see migration 0004).
            models.Index(fields=["next_warn_at"], name="ticket_warn_idx", condition=Q(status__in=CLOCK_STATUSES)),
            models.Index(
                fields=["first_response_due_at"],
                name="ticket_first_response_open_idx",
                condition=Q(status__in=CLOCK_STATUSES, first_responded_at__isnull=True),
            ),
            models.Index(
                fields=["resolution_due_at"],
                name="ticket_resolution_open_idx",
                condition=Q(status__in=CLOCK_STATUSES, resolved_at__isnull=True),
            ),
            models.Index(fields=["touchpoint"], name="ticket_touchpoint_idx", condition=Q(touchpoint__isnull=False)),
            models.Index(fields=["order_reference"], name="ticket_order_idx", condition=~Q(order_reference="")),
            # Figures: resolutions in a period.
            models.Index(fields=["resolved_at"], name="ticket_resolved_idx", condition=Q(resolved_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.subject}"

    def get_absolute_url(self) -> str:
        return reverse("feedback:ticket_detail", args=[self.pk])

    @property
    def display_subject(self) -> str:
        """The subject in the reader's language when the system wrote it; as typed otherwise."""
        return system_text.render(self.subject_key, self.subject_params, self.subject)

    @property
    def reference(self) -> str:
        return format_reference(self.pk)

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def is_follow_up(self) -> bool:
        return self.source_survey_id is not None

    @property
    def sla_running(self) -> bool:
        return self.next_due_at < NO_DEADLINE

    @property
    def sla_target(self) -> str:
        """Which deadline ``next_due_at`` is: "first_response" or "resolution" ("" when no clock runs)."""
        if not self.sla_running:
            return ""
        return "first_response" if self.first_responded_at is None else "resolution"

    @property
    def is_breached(self) -> bool:
        return self.first_response_breached or self.resolution_breached


class TicketMessage(models.Model):
    """One entry of a ticket's history: a public reply (mailed to the customer), an internal note, the ticket's
    opening (a marker without text: the customer's message is the ticket's body), or a message the customer sent
    afterwards on any channel (an email answering a reply, a LINE message).

    The customer's timeline reads openings and replies from this one table, so the tickets cost the customer
    page one query whatever their number.
    """

    class Kind(models.TextChoices):
        REPLY = "reply", _("Reply to the customer")
        NOTE = "note", _("Internal note")
        OPENED = "opened", _("Ticket opened")
        INBOUND = "inbound", _("Message from the customer")

    ticket = models.ForeignKey(
        Ticket,
        verbose_name=_("ticket"),
        on_delete=models.CASCADE,
        related_name="messages",
        db_index=False,  # covered by ticket_message_idx
    )
    # The ticket's customer, kept here so the customer's timeline reads from one index.
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,  # covered by ticket_message_customer_idx
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.REPLY)
    body = models.TextField(_("message"), max_length=10_000, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("author"), on_delete=models.SET_NULL, null=True, related_name="+"
    )
    outbox_key = models.CharField(_("outbox key"), max_length=200, blank=True, editable=False)
    outbound = models.ForeignKey(
        "outreach.OutboundMessage",
        verbose_name=_("mail"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        help_text=_("The outbox row of a public reply: queued, sent, or skipped and why."),
    )
    # Where a customer's message came from (and where the ticket's opening came from), and the channel's own id
    # for it (an email's Message-ID, a LINE message id): a message fetched or delivered twice is stored once.
    channel = models.CharField(_("channel"), max_length=10, blank=True, default="", editable=False)
    external_id = models.CharField(_("channel's message id"), max_length=255, blank=True, default="", editable=False)
    sender = models.CharField(_("sent by"), max_length=320, blank=True, default="", editable=False)
    created_at = models.DateTimeField(_("written at"), default=timezone.now, editable=False)
    # Drawn when the reply form is shown: a double click or a resent page writes (and mails) the reply once.
    idempotency_key = models.CharField(_("idempotency key"), max_length=64, blank=True, default="", editable=False)

    objects = TicketMessageQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("ticket message")
        verbose_name_plural = _("ticket messages")
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="ticket_message_once",
            ),
            models.UniqueConstraint(
                fields=["channel", "external_id"],
                condition=~Q(external_id=""),
                name="ticket_message_external_once",
            ),
        ]
        indexes = [
            models.Index(fields=["ticket", "-created_at", "-id"], name="ticket_message_idx"),
            models.Index(
                fields=["customer", "-created_at", "-id"],
                name="ticket_message_customer_idx",
                condition=Q(kind__in=["reply", "opened", "inbound"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{format_reference(self.ticket_id)} · {self.get_kind_display()}"

    @property
    def is_public(self) -> bool:
        return self.kind == self.Kind.REPLY

    @property
    def is_from_customer(self) -> bool:
        return self.kind == self.Kind.INBOUND


class CannedResponse(models.Model):
    """A prepared reply. Placeholders in braces are filled per ticket (see services.CANNED_PLACEHOLDERS)."""

    title = models.CharField(_("title"), max_length=100)
    # In Japanese and in English, as email templates are: the picker inserts the one in the customer's language
    # (the other when that one is empty).
    body = models.TextField(
        _("text (Japanese)"),
        max_length=5_000,
        blank=True,
        help_text=_("Placeholders: {customer_name}, {ticket_reference}, {ticket_subject}, {agent_name}, {shop_name}."),
    )
    body_en = models.TextField(_("text (English)"), max_length=5_000, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["title"]
        verbose_name = _("canned response")
        verbose_name_plural = _("canned responses")
        constraints = [
            models.UniqueConstraint(
                Lower("title"),
                name="feedback_cannedresponse_title_ci_unique",
                violation_error_message=_("A canned response with this title already exists."),
            )
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("feedback:canned_update", args=[self.pk])


class SlaWarning(models.Model):
    """A warning that a ticket's deadline is near or passed: one per ticket and kind (the database says so)."""

    class Kind(models.TextChoices):
        FIRST_RESPONSE_SOON = "first_response_soon", _("First response due soon")
        FIRST_RESPONSE_BREACHED = "first_response_breached", _("First response overdue")
        RESOLUTION_SOON = "resolution_soon", _("Resolution due soon")
        RESOLUTION_BREACHED = "resolution_breached", _("Resolution overdue")

    ticket = models.ForeignKey(Ticket, verbose_name=_("ticket"), on_delete=models.CASCADE, related_name="sla_warnings")
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    due_at = models.DateTimeField(_("deadline"))
    created_at = models.DateTimeField(_("raised at"), default=timezone.now)
    notified_at = models.DateTimeField(_("notified at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("SLA warning")
        verbose_name_plural = _("SLA warnings")
        constraints = [models.UniqueConstraint("ticket", "kind", name="feedback_slawarning_once_per_kind")]
        indexes = [
            models.Index(fields=["created_at", "id"], name="slawarning_pending_idx", condition=Q(notified_at=None))
        ]

    def __str__(self) -> str:
        return f"{format_reference(self.ticket_id)} · {self.get_kind_display()}"


class Survey(models.Model):
    """A CSAT (1–5) or NPS (0–10) question to one customer, answered once through a signed link."""

    class Kind(models.TextChoices):
        CSAT = "csat", _("CSAT (1–5)")
        NPS = "nps", _("NPS (0–10)")

    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="surveys",
        db_index=False,  # covered by survey_customer_idx
    )
    kind = models.CharField(_("kind"), max_length=4, choices=Kind.choices)
    ticket = models.ForeignKey(
        Ticket,
        verbose_name=_("about ticket"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="surveys",
    )
    language = models.CharField(_("language"), max_length=5, default="ja")
    score = models.PositiveSmallIntegerField(_("score"), null=True, blank=True)
    comment = models.TextField(_("comment"), max_length=2_000, blank=True)
    source = models.CharField(
        _("sent by"), max_length=100, blank=True, help_text=_("What sent it: a resolved ticket, staff, a broadcast…")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.SET_NULL, null=True, related_name="+"
    )
    outbound = models.ForeignKey(
        "outreach.OutboundMessage",
        verbose_name=_("invitation"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        help_text=_("The outbox row of the invitation: queued, sent, or skipped and why."),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)

    objects = SurveyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("survey")
        verbose_name_plural = _("surveys")
        permissions = [("send_survey", _("Can send NPS surveys"))]
        constraints = [
            models.UniqueConstraint(
                "ticket", "kind", condition=Q(ticket__isnull=False), name="feedback_survey_once_per_ticket"
            ),
            models.CheckConstraint(
                condition=Q(score__isnull=True)
                | Q(kind="csat", score__gte=1, score__lte=5)
                | Q(kind="nps", score__gte=0, score__lte=10),
                name="feedback_survey_score_in_range",
            ),
            models.CheckConstraint(
                condition=Q(score__isnull=True, answered_at__isnull=True)
                | Q(score__isnull=False, answered_at__isnull=False),
                name="feedback_survey_answer_complete",
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "-created_at", "-id"], name="survey_customer_idx"),
            models.Index(
                fields=["-answered_at", "-id"], name="survey_answered_idx", condition=Q(answered_at__isnull=False)
            ),
            models.Index(
                fields=["kind", "answered_at"], name="survey_kind_answered_idx", condition=Q(answered_at__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"

    @property
    def is_answered(self) -> bool:
        return self.answered_at is not None

    @property
    def scale(self) -> range:
        return range(1, 6) if self.kind == self.Kind.CSAT else range(0, 11)

    @property
    def is_unhappy(self) -> bool:
        """An NPS detractor (0–6) or a CSAT of 1–2: someone must come back to this customer."""
        if self.score is None:
            return False
        return self.score <= 6 if self.kind == self.Kind.NPS else self.score <= 2


# Kept in its own module for size; imported here so that Django (and callers) find it with the others.
from .rollup_models import FiguresDay, FiguresSpan, FiguresWatermark  # noqa: E402, F401
from .submissions import FeedbackPhoto, PendingSubmission  # noqa: E402, F401
