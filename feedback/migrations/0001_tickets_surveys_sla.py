"""Tickets and their conversation, SLA policies, the business calendar, SLA warnings, surveys."""

import datetime

import django.db.models.deletion
import django.db.models.functions.text
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("customers", "0006_segment_roles"),
        ("touchpoints", "0004_outreach"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Holiday",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("date", models.DateField(unique=True, verbose_name="date")),
                ("name", models.CharField(max_length=100, verbose_name="name")),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="created at")),
            ],
            options={
                "verbose_name": "holiday",
                "verbose_name_plural": "holidays",
                "ordering": ["date"],
            },
        ),
        migrations.CreateModel(
            name="BusinessHours",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "weekday",
                    models.PositiveSmallIntegerField(
                        choices=[
                            (0, "Monday"),
                            (1, "Tuesday"),
                            (2, "Wednesday"),
                            (3, "Thursday"),
                            (4, "Friday"),
                            (5, "Saturday"),
                            (6, "Sunday"),
                        ],
                        verbose_name="weekday",
                    ),
                ),
                ("opens_at", models.TimeField(verbose_name="opens at")),
                ("closes_at", models.TimeField(verbose_name="closes at")),
            ],
            options={
                "verbose_name": "business hours",
                "verbose_name_plural": "business hours",
                "ordering": ["weekday", "opens_at"],
                "constraints": [
                    models.UniqueConstraint(
                        models.F("weekday"), models.F("opens_at"), name="feedback_businesshours_unique"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("closes_at__gt", models.F("opens_at"))), name="feedback_hours_ordered"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("weekday__gte", 0), ("weekday__lte", 6)), name="feedback_hours_weekday"
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="SlaPolicy",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=100, verbose_name="name")),
                (
                    "priority",
                    models.CharField(
                        blank=True,
                        choices=[("low", "Low"), ("normal", "Normal"), ("high", "High"), ("urgent", "Urgent")],
                        help_text="The tickets this policy applies to; empty for the follow-up policy.",
                        max_length=10,
                        verbose_name="priority",
                    ),
                ),
                (
                    "is_follow_up",
                    models.BooleanField(
                        default=False,
                        help_text="Applies to tickets opened by a detractor or an unhappy CSAT answer, whatever their priority.",
                        verbose_name="for follow-up tickets",
                    ),
                ),
                ("first_response_minutes", models.PositiveIntegerField(verbose_name="first response within (minutes)")),
                ("resolution_minutes", models.PositiveIntegerField(verbose_name="resolution within (minutes)")),
                (
                    "business_hours",
                    models.BooleanField(
                        default=True,
                        help_text="Count only the working week's hours, skipping holidays; otherwise count every hour.",
                        verbose_name="count business hours only",
                    ),
                ),
                (
                    "warn_before_minutes",
                    models.PositiveIntegerField(
                        default=60,
                        help_text="The assignee and managers are warned then.",
                        verbose_name="warn before a breach (minutes)",
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="created at")),
                ("updated_at", models.DateTimeField(auto_now=True, verbose_name="updated at")),
            ],
            options={
                "verbose_name": "SLA policy",
                "verbose_name_plural": "SLA policies",
                "ordering": ["is_follow_up", "priority", "id"],
                "constraints": [
                    models.UniqueConstraint(
                        models.F("priority"),
                        condition=models.Q(("is_follow_up", False)),
                        name="feedback_slapolicy_priority_unique",
                    ),
                    models.UniqueConstraint(
                        models.F("is_follow_up"),
                        condition=models.Q(("is_follow_up", True)),
                        name="feedback_slapolicy_one_follow_up",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("is_follow_up", True), models.Q(("priority", ""), _negated=True), _connector="OR"
                        ),
                        name="feedback_slapolicy_has_priority",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("first_response_minutes__gt", 0),
                            ("resolution_minutes__gte", models.F("first_response_minutes")),
                        ),
                        name="feedback_slapolicy_targets_valid",
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="Survey",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "kind",
                    models.CharField(
                        choices=[("csat", "CSAT (1–5)"), ("nps", "NPS (0–10)")], max_length=4, verbose_name="kind"
                    ),
                ),
                ("language", models.CharField(default="ja", max_length=5, verbose_name="language")),
                ("score", models.PositiveSmallIntegerField(blank=True, null=True, verbose_name="score")),
                ("comment", models.TextField(blank=True, max_length=2000, verbose_name="comment")),
                (
                    "source",
                    models.CharField(
                        blank=True,
                        help_text="What sent it: a resolved ticket, staff, a broadcast…",
                        max_length=100,
                        verbose_name="sent by",
                    ),
                ),
                (
                    "created_at",
                    models.DateTimeField(default=django.utils.timezone.now, editable=False, verbose_name="created at"),
                ),
                ("answered_at", models.DateTimeField(blank=True, null=True, verbose_name="answered at")),
                (
                    "created_by",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="created by",
                    ),
                ),
                (
                    "customer",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="surveys",
                        to="customers.customer",
                        verbose_name="customer",
                    ),
                ),
                (
                    "outbound",
                    models.ForeignKey(
                        blank=True,
                        editable=False,
                        help_text="The outbox row of the invitation: queued, sent, or skipped and why.",
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="touchpoints.outboundmessage",
                        verbose_name="invitation",
                    ),
                ),
            ],
            options={
                "verbose_name": "survey",
                "verbose_name_plural": "surveys",
                "ordering": ["-created_at", "-id"],
                "permissions": [("send_survey", "Can send NPS surveys")],
            },
        ),
        migrations.CreateModel(
            name="Ticket",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("complaint", "Complaint"),
                            ("question", "Question"),
                            ("request", "Request"),
                            ("suggestion", "Suggestion"),
                            ("praise", "Praise"),
                        ],
                        default="question",
                        max_length=12,
                        verbose_name="kind",
                    ),
                ),
                (
                    "channel",
                    models.CharField(
                        choices=[
                            ("email", "Email"),
                            ("phone", "Phone"),
                            ("web_form", "Feedback form"),
                            ("widget", "Website widget (API)"),
                            ("line", "LINE"),
                            ("store", "In store"),
                            ("survey", "Survey answer"),
                            ("other", "Other"),
                        ],
                        default="email",
                        max_length=10,
                        verbose_name="channel",
                    ),
                ),
                ("subject", models.CharField(max_length=200, verbose_name="subject")),
                ("body", models.TextField(blank=True, max_length=10000, verbose_name="message")),
                (
                    "priority",
                    models.CharField(
                        choices=[("low", "Low"), ("normal", "Normal"), ("high", "High"), ("urgent", "Urgent")],
                        default="normal",
                        max_length=10,
                        verbose_name="priority",
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("new", "New"),
                            ("open", "Open"),
                            ("waiting", "Waiting on customer"),
                            ("resolved", "Resolved"),
                            ("closed", "Closed"),
                        ],
                        default="new",
                        max_length=10,
                        verbose_name="status",
                    ),
                ),
                ("order_reference", models.CharField(blank=True, max_length=100, verbose_name="order reference")),
                (
                    "first_response_due_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="first response due"),
                ),
                ("resolution_due_at", models.DateTimeField(blank=True, null=True, verbose_name="resolution due")),
                ("first_responded_at", models.DateTimeField(blank=True, null=True, verbose_name="first responded at")),
                ("resolved_at", models.DateTimeField(blank=True, null=True, verbose_name="resolved at")),
                ("closed_at", models.DateTimeField(blank=True, null=True, verbose_name="closed at")),
                ("first_response_breached", models.BooleanField(default=False, verbose_name="first response breached")),
                ("resolution_breached", models.BooleanField(default=False, verbose_name="resolution breached")),
                (
                    "sla_paused_at",
                    models.DateTimeField(
                        blank=True,
                        help_text="The clock stops while waiting on the customer.",
                        null=True,
                        verbose_name="SLA paused at",
                    ),
                ),
                (
                    "next_due_at",
                    models.DateTimeField(
                        default=datetime.datetime(9000, 1, 1, 0, 0, tzinfo=datetime.UTC),
                        editable=False,
                        verbose_name="next deadline",
                    ),
                ),
                (
                    "next_warn_at",
                    models.DateTimeField(
                        default=datetime.datetime(9000, 1, 1, 0, 0, tzinfo=datetime.UTC),
                        editable=False,
                        verbose_name="warn at",
                    ),
                ),
                (
                    "loop_closed_at",
                    models.DateTimeField(
                        blank=True,
                        help_text="When the customer got a reply to their answer.",
                        null=True,
                        verbose_name="loop closed at",
                    ),
                ),
                (
                    "idempotency_key",
                    models.CharField(
                        blank=True,
                        help_text="A retried API request opens no second ticket.",
                        max_length=200,
                        verbose_name="idempotency key",
                    ),
                ),
                (
                    "created_at",
                    models.DateTimeField(default=django.utils.timezone.now, editable=False, verbose_name="opened at"),
                ),
                ("updated_at", models.DateTimeField(auto_now=True, verbose_name="updated at")),
                (
                    "assignee",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="assigned_tickets",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="assignee",
                    ),
                ),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="opened by",
                    ),
                ),
                (
                    "customer",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="tickets",
                        to="customers.customer",
                        verbose_name="customer",
                    ),
                ),
                (
                    "sla_policy",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="feedback.slapolicy",
                        verbose_name="SLA policy",
                    ),
                ),
                (
                    "source_survey",
                    models.OneToOneField(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="follow_up_ticket",
                        to="feedback.survey",
                        verbose_name="opened for survey answer",
                    ),
                ),
                (
                    "touchpoint",
                    models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="touchpoints.touchpoint",
                        verbose_name="concerns touchpoint",
                    ),
                ),
            ],
            options={
                "verbose_name": "ticket",
                "verbose_name_plural": "tickets",
                "ordering": ["-created_at", "-id"],
                "permissions": [
                    ("view_figures", "Can view feedback figures"),
                    ("bulk_change_ticket", "Can assign and close tickets in bulk"),
                ],
            },
        ),
        migrations.AddField(
            model_name="survey",
            name="ticket",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="surveys",
                to="feedback.ticket",
                verbose_name="about ticket",
            ),
        ),
        migrations.CreateModel(
            name="SlaWarning",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("first_response_soon", "First response due soon"),
                            ("first_response_breached", "First response overdue"),
                            ("resolution_soon", "Resolution due soon"),
                            ("resolution_breached", "Resolution overdue"),
                        ],
                        max_length=30,
                        verbose_name="kind",
                    ),
                ),
                ("due_at", models.DateTimeField(verbose_name="deadline")),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="raised at")),
                ("notified_at", models.DateTimeField(blank=True, null=True, verbose_name="notified at")),
                (
                    "ticket",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="sla_warnings",
                        to="feedback.ticket",
                        verbose_name="ticket",
                    ),
                ),
            ],
            options={
                "verbose_name": "SLA warning",
                "verbose_name_plural": "SLA warnings",
                "ordering": ["-created_at", "-id"],
            },
        ),
        migrations.CreateModel(
            name="TicketMessage",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("reply", "Reply to the customer"),
                            ("note", "Internal note"),
                            ("opened", "Ticket opened"),
                        ],
                        default="reply",
                        max_length=10,
                        verbose_name="kind",
                    ),
                ),
                ("body", models.TextField(blank=True, max_length=10000, verbose_name="message")),
                ("outbox_key", models.CharField(blank=True, editable=False, max_length=200, verbose_name="outbox key")),
                (
                    "created_at",
                    models.DateTimeField(default=django.utils.timezone.now, editable=False, verbose_name="written at"),
                ),
                (
                    "author",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="author",
                    ),
                ),
                (
                    "customer",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="customers.customer",
                        verbose_name="customer",
                    ),
                ),
                (
                    "outbound",
                    models.ForeignKey(
                        blank=True,
                        editable=False,
                        help_text="The outbox row of a public reply: queued, sent, or skipped and why.",
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="touchpoints.outboundmessage",
                        verbose_name="mail",
                    ),
                ),
                (
                    "ticket",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="messages",
                        to="feedback.ticket",
                        verbose_name="ticket",
                    ),
                ),
            ],
            options={
                "verbose_name": "ticket message",
                "verbose_name_plural": "ticket messages",
                "ordering": ["-created_at", "-id"],
            },
        ),
        migrations.CreateModel(
            name="TicketTag",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=50, verbose_name="name")),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="created at")),
            ],
            options={
                "verbose_name": "ticket tag",
                "verbose_name_plural": "ticket tags",
                "ordering": ["name"],
                "constraints": [
                    models.UniqueConstraint(
                        django.db.models.functions.text.Lower("name"),
                        name="feedback_tickettag_name_ci_unique",
                        violation_error_message="A ticket tag with this name already exists.",
                    )
                ],
            },
        ),
        migrations.AddField(
            model_name="ticket",
            name="tags",
            field=models.ManyToManyField(
                blank=True, related_name="tickets", to="feedback.tickettag", verbose_name="tags"
            ),
        ),
        migrations.CreateModel(
            name="CannedResponse",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("title", models.CharField(max_length=100, verbose_name="title")),
                (
                    "body",
                    models.TextField(
                        help_text="Placeholders: {customer_name}, {ticket_reference}, {ticket_subject}, {agent_name}, {shop_name}.",
                        max_length=5000,
                        verbose_name="text",
                    ),
                ),
                ("is_active", models.BooleanField(default=True, verbose_name="active")),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="created at")),
                ("updated_at", models.DateTimeField(auto_now=True, verbose_name="updated at")),
                (
                    "created_by",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="created by",
                    ),
                ),
            ],
            options={
                "verbose_name": "canned response",
                "verbose_name_plural": "canned responses",
                "ordering": ["title"],
                "constraints": [
                    models.UniqueConstraint(
                        django.db.models.functions.text.Lower("title"),
                        name="feedback_cannedresponse_title_ci_unique",
                        violation_error_message="A canned response with this title already exists.",
                    )
                ],
            },
        ),
        migrations.AddIndex(
            model_name="survey",
            index=models.Index(fields=["customer", "-created_at", "-id"], name="survey_customer_idx"),
        ),
        migrations.AddIndex(
            model_name="survey",
            index=models.Index(
                condition=models.Q(("answered_at__isnull", False)),
                fields=["-answered_at", "-id"],
                name="survey_answered_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="survey",
            index=models.Index(
                condition=models.Q(("answered_at__isnull", False)),
                fields=["kind", "answered_at"],
                name="survey_kind_answered_idx",
            ),
        ),
        migrations.AddConstraint(
            model_name="survey",
            constraint=models.UniqueConstraint(
                models.F("ticket"),
                models.F("kind"),
                condition=models.Q(("ticket__isnull", False)),
                name="feedback_survey_once_per_ticket",
            ),
        ),
        migrations.AddConstraint(
            model_name="survey",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("score__isnull", True),
                    models.Q(("kind", "csat"), ("score__gte", 1), ("score__lte", 5)),
                    models.Q(("kind", "nps"), ("score__gte", 0), ("score__lte", 10)),
                    _connector="OR",
                ),
                name="feedback_survey_score_in_range",
            ),
        ),
        migrations.AddConstraint(
            model_name="survey",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("answered_at__isnull", True), ("score__isnull", True)),
                    models.Q(("answered_at__isnull", False), ("score__isnull", False)),
                    _connector="OR",
                ),
                name="feedback_survey_answer_complete",
            ),
        ),
        migrations.AddIndex(
            model_name="slawarning",
            index=models.Index(
                condition=models.Q(("notified_at", None)), fields=["created_at", "id"], name="slawarning_pending_idx"
            ),
        ),
        migrations.AddConstraint(
            model_name="slawarning",
            constraint=models.UniqueConstraint(
                models.F("ticket"), models.F("kind"), name="feedback_slawarning_once_per_kind"
            ),
        ),
        migrations.AddIndex(
            model_name="ticketmessage",
            index=models.Index(fields=["ticket", "-created_at", "-id"], name="ticket_message_idx"),
        ),
        migrations.AddIndex(
            model_name="ticketmessage",
            index=models.Index(
                condition=models.Q(("kind__in", ["reply", "opened"])),
                fields=["customer", "-created_at", "-id"],
                name="ticket_message_customer_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(fields=["-created_at", "-id"], name="ticket_created_idx"),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(fields=["customer", "-created_at", "-id"], name="ticket_customer_idx"),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(fields=["next_due_at", "id"], name="ticket_due_idx"),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(("status__in", ["new", "open", "waiting"])),
                fields=["next_due_at", "id"],
                name="ticket_active_due_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(("assignee__isnull", True), ("status__in", ["new", "open", "waiting"])),
                fields=["next_due_at", "id"],
                name="ticket_unassigned_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(("status__in", ["new", "open", "waiting"])),
                fields=["assignee", "next_due_at", "id"],
                name="ticket_assignee_due_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(fields=["status", "next_due_at", "id"], name="ticket_status_due_idx"),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(fields=["status", "-created_at", "-id"], name="ticket_status_created_idx"),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(("status__in", ["new", "open", "waiting"])),
                fields=["priority", "next_due_at", "id"],
                name="ticket_priority_due_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(("status__in", ["new", "open", "waiting"])),
                fields=["kind", "next_due_at", "id"],
                name="ticket_kind_due_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(("status__in", ["new", "open"])), fields=["next_warn_at"], name="ticket_warn_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(("first_responded_at__isnull", True), ("status__in", ["new", "open"])),
                fields=["first_response_due_at"],
                name="ticket_first_response_open_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(("resolved_at__isnull", True), ("status__in", ["new", "open"])),
                fields=["resolution_due_at"],
                name="ticket_resolution_open_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(("touchpoint__isnull", False)), fields=["touchpoint"], name="ticket_touchpoint_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(("order_reference", ""), _negated=True),
                fields=["order_reference"],
                name="ticket_order_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(("resolved_at__isnull", False)), fields=["resolved_at"], name="ticket_resolved_idx"
            ),
        ),
        migrations.AddConstraint(
            model_name="ticket",
            constraint=models.UniqueConstraint(
                models.F("idempotency_key"),
                condition=models.Q(("idempotency_key", ""), _negated=True),
                name="feedback_ticket_idempotency_key_unique",
            ),
        ),
        migrations.AddConstraint(
            model_name="ticket",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("status", "resolved"), _negated=True), ("resolved_at__isnull", False), _connector="OR"
                ),
                name="feedback_ticket_resolved_has_time",
            ),
        ),
        migrations.AddConstraint(
            model_name="ticket",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("status", "closed"), _negated=True), ("closed_at__isnull", False), _connector="OR"
                ),
                name="feedback_ticket_closed_has_time",
            ),
        ),
    ]
