"""The outreach models, moved from the touchpoints app: state only, the tables keep their names (db_table)."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

import touchpoints.outreach.models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("customers", "0013_fold_search_keys"),
        ("touchpoints", "0009_service_message_permission"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="FollowUpRule",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("name", models.CharField(max_length=100, verbose_name="name")),
                        ("is_active", models.BooleanField(default=True, verbose_name="active")),
                        (
                            "trigger",
                            models.CharField(
                                choices=[
                                    ("touchpoint", "A touchpoint of a type is recorded"),
                                    ("stage", "The customer enters a stage"),
                                    ("inactive", "No touchpoint for a number of days"),
                                ],
                                max_length=12,
                                verbose_name="trigger",
                            ),
                        ),
                        (
                            "trigger_stage",
                            models.CharField(
                                blank=True,
                                choices=[
                                    ("awareness", "Awareness"),
                                    ("consideration", "Consideration"),
                                    ("decision", "Decision"),
                                    ("retention", "Retention"),
                                ],
                                max_length=20,
                                verbose_name="stage entered",
                            ),
                        ),
                        (
                            "inactive_days",
                            models.PositiveSmallIntegerField(
                                blank=True, null=True, verbose_name="days without a touchpoint"
                            ),
                        ),
                        ("inactive_scanned_until", models.DateTimeField(blank=True, editable=False, null=True)),
                        ("delay_amount", models.PositiveIntegerField(default=0, verbose_name="delay")),
                        (
                            "delay_unit",
                            models.CharField(
                                choices=[("minutes", "minutes"), ("hours", "hours"), ("days", "days")],
                                default="days",
                                max_length=10,
                                verbose_name="delay unit",
                            ),
                        ),
                        (
                            "condition_stages",
                            models.JSONField(
                                blank=True,
                                default=list,
                                help_text="Empty: any stage.",
                                verbose_name="only customers now in these stages",
                            ),
                        ),
                        (
                            "condition_consent",
                            models.BooleanField(
                                default=False,
                                help_text="Marketing messages always need consent; this also applies the rule's tasks to them only.",
                                verbose_name="only customers who accept marketing",
                            ),
                        ),
                        (
                            "stop_if_purchased",
                            models.BooleanField(
                                default=True,
                                help_text="A purchase after the trigger.",
                                verbose_name="cancel if the customer buys meanwhile",
                            ),
                        ),
                        (
                            "cap_days",
                            models.PositiveSmallIntegerField(
                                default=7,
                                help_text="0: no cap. Counts every marketing message, whatever sent it.",
                                verbose_name="at most one marketing message per customer in N days",
                            ),
                        ),
                        (
                            "action",
                            models.CharField(
                                choices=[("send", "Send a message template"), ("task", "Create a task for staff")],
                                default="send",
                                max_length=10,
                                verbose_name="action",
                            ),
                        ),
                        (
                            "task_title",
                            models.CharField(
                                blank=True, help_text="What staff should do.", max_length=200, verbose_name="task"
                            ),
                        ),
                        (
                            "task_channel",
                            models.CharField(
                                choices=[
                                    ("email", "Email"),
                                    ("phone", "Phone"),
                                    ("line", "LINE"),
                                    ("sms", "SMS"),
                                    ("web", "Web"),
                                    ("social", "Social media"),
                                    ("store", "Store"),
                                    ("event", "Event"),
                                    ("advertising", "Advertising"),
                                    ("post", "Post"),
                                    ("other", "Other"),
                                ],
                                default="phone",
                                max_length=20,
                                verbose_name="task channel",
                            ),
                        ),
                        (
                            "assign_to",
                            models.CharField(
                                choices=[("owner", "The customer's owner"), ("group", "A team")],
                                default="owner",
                                max_length=10,
                                verbose_name="assign to",
                            ),
                        ),
                        ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="created at")),
                        ("updated_at", models.DateTimeField(auto_now=True, verbose_name="updated at")),
                        (
                            "assign_group",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to="auth.group",
                                verbose_name="team",
                            ),
                        ),
                        (
                            "condition_segment",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=touchpoints.outreach.models.SWITCH_OFF_RULE,
                                related_name="+",
                                to="customers.segment",
                                verbose_name="only customers in segment",
                            ),
                        ),
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
                            "trigger_type",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to="touchpoints.touchpointtype",
                                verbose_name="touchpoint type",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "follow-up rule",
                        "verbose_name_plural": "follow-up rules",
                        "db_table": "touchpoints_followuprule",
                        "ordering": ["name", "id"],
                    },
                ),
                migrations.CreateModel(
                    name="FollowUp",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("trigger_key", models.CharField(max_length=100, verbose_name="trigger")),
                        ("triggered_at", models.DateTimeField(verbose_name="triggered at")),
                        ("due_at", models.DateTimeField(verbose_name="due at")),
                        (
                            "status",
                            models.CharField(
                                choices=[("scheduled", "Scheduled"), ("done", "Done"), ("cancelled", "Cancelled")],
                                default="scheduled",
                                max_length=10,
                                verbose_name="status",
                            ),
                        ),
                        (
                            "outcome",
                            models.CharField(
                                blank=True,
                                choices=[
                                    ("", "—"),
                                    ("message", "Message queued"),
                                    ("task", "Task created"),
                                    ("purchased", "Cancelled: the customer bought meanwhile"),
                                    ("conditions", "Cancelled: conditions no longer met"),
                                    ("rule_off", "Cancelled: the rule was switched off"),
                                    ("capped", "Skipped: frequency cap"),
                                ],
                                max_length=12,
                                verbose_name="outcome",
                            ),
                        ),
                        ("dispatched_at", models.DateTimeField(blank=True, null=True, verbose_name="dispatched at")),
                        (
                            "created_at",
                            models.DateTimeField(
                                default=django.utils.timezone.now, editable=False, verbose_name="created at"
                            ),
                        ),
                        (
                            "customer",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="followups",
                                to="customers.customer",
                                verbose_name="customer",
                            ),
                        ),
                        (
                            "touchpoint",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                to="touchpoints.touchpoint",
                                verbose_name="triggering touchpoint",
                            ),
                        ),
                        (
                            "rule",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="followups",
                                to="outreach.followuprule",
                                verbose_name="rule",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "follow-up",
                        "verbose_name_plural": "follow-ups",
                        "db_table": "touchpoints_followup",
                        "ordering": ["-due_at", "-id"],
                    },
                ),
                migrations.CreateModel(
                    name="MessageTemplate",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("name", models.CharField(max_length=100, verbose_name="name")),
                        (
                            "slug",
                            models.SlugField(
                                help_text="Stable identifier; the apps that send it refer to it.",
                                unique=True,
                                verbose_name="slug",
                            ),
                        ),
                        (
                            "channel",
                            models.CharField(
                                choices=[("email", "Email"), ("line", "LINE"), ("sms", "SMS"), ("phone", "Phone")],
                                default="email",
                                max_length=10,
                                verbose_name="channel",
                            ),
                        ),
                        (
                            "purpose",
                            models.CharField(
                                choices=[
                                    ("marketing", "Marketing (needs consent)"),
                                    ("transactional", "Transactional (service message)"),
                                ],
                                default="marketing",
                                max_length=15,
                                verbose_name="purpose",
                            ),
                        ),
                        ("subject_ja", models.CharField(blank=True, max_length=200, verbose_name="subject (Japanese)")),
                        ("body_ja", models.TextField(blank=True, max_length=20000, verbose_name="body (Japanese)")),
                        ("subject_en", models.CharField(blank=True, max_length=200, verbose_name="subject (English)")),
                        ("body_en", models.TextField(blank=True, max_length=20000, verbose_name="body (English)")),
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
                        "verbose_name": "message template",
                        "verbose_name_plural": "message templates",
                        "db_table": "touchpoints_messagetemplate",
                        "ordering": ["name", "id"],
                        "permissions": [
                            ("send_service_message", "Can send service messages from rules and mark templates so")
                        ],
                    },
                ),
                migrations.AddField(
                    model_name="followuprule",
                    name="template",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="rules",
                        to="outreach.messagetemplate",
                        verbose_name="message template",
                    ),
                ),
                migrations.CreateModel(
                    name="Broadcast",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("name", models.CharField(max_length=100, verbose_name="name")),
                        (
                            "send_at",
                            models.DateTimeField(help_text="Leave as now to send at once.", verbose_name="send at"),
                        ),
                        (
                            "cap_days",
                            models.PositiveSmallIntegerField(
                                default=0,
                                help_text="0: no cap.",
                                verbose_name="skip customers who got a marketing message in the last N days",
                            ),
                        ),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("scheduled", "Scheduled"),
                                    ("preparing", "Preparing"),
                                    ("sending", "Sending"),
                                    ("done", "Done"),
                                    ("cancelled", "Cancelled"),
                                ],
                                default="scheduled",
                                max_length=10,
                                verbose_name="status",
                            ),
                        ),
                        ("total", models.PositiveIntegerField(default=0, verbose_name="customers in the segment")),
                        ("prepared_count", models.PositiveIntegerField(default=0, verbose_name="prepared")),
                        ("cursor", models.BigIntegerField(default=0, editable=False)),
                        ("heartbeat_at", models.DateTimeField(blank=True, editable=False, null=True)),
                        ("started_at", models.DateTimeField(blank=True, null=True, verbose_name="started at")),
                        ("prepared_at", models.DateTimeField(blank=True, null=True, verbose_name="prepared at")),
                        ("finished_at", models.DateTimeField(blank=True, null=True, verbose_name="finished at")),
                        ("counts", models.JSONField(blank=True, default=dict, verbose_name="final counts")),
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
                        (
                            "segment",
                            models.ForeignKey(
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to="customers.segment",
                                verbose_name="segment",
                            ),
                        ),
                        (
                            "template",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="broadcasts",
                                to="outreach.messagetemplate",
                                verbose_name="message template",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "broadcast",
                        "verbose_name_plural": "broadcasts",
                        "db_table": "touchpoints_broadcast",
                        "ordering": ["-send_at", "-id"],
                    },
                ),
                migrations.CreateModel(
                    name="OutboundMessage",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("key", models.CharField(max_length=150, unique=True, verbose_name="key")),
                        (
                            "channel",
                            models.CharField(
                                choices=[("email", "Email"), ("line", "LINE"), ("sms", "SMS"), ("phone", "Phone")],
                                max_length=10,
                                verbose_name="channel",
                            ),
                        ),
                        (
                            "purpose",
                            models.CharField(
                                choices=[
                                    ("marketing", "Marketing (needs consent)"),
                                    ("transactional", "Transactional (service message)"),
                                ],
                                max_length=15,
                                verbose_name="purpose",
                            ),
                        ),
                        ("language", models.CharField(max_length=5, verbose_name="language")),
                        ("to_address", models.CharField(blank=True, max_length=254, verbose_name="to")),
                        ("subject", models.CharField(blank=True, max_length=300, verbose_name="subject")),
                        ("body", models.TextField(blank=True, verbose_name="body")),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("queued", "Queued"),
                                    ("sending", "Sending"),
                                    ("sent", "Sent"),
                                    ("failed", "Failed"),
                                    ("skipped", "Skipped"),
                                ],
                                default="queued",
                                max_length=10,
                                verbose_name="status",
                            ),
                        ),
                        (
                            "skip_reason",
                            models.CharField(
                                blank=True,
                                choices=[
                                    ("", "—"),
                                    ("no_consent", "No marketing consent"),
                                    ("opted_out", "Opted out"),
                                    ("do_not_contact", "Do not contact"),
                                    ("no_address", "No address"),
                                    ("quiet_hours", "Quiet hours (deferred)"),
                                    ("capped", "Frequency cap"),
                                    ("cancelled", "Cancelled"),
                                    ("staff_task", "Handed to staff (no provider for the channel)"),
                                ],
                                max_length=20,
                                verbose_name="reason",
                            ),
                        ),
                        ("attempts", models.PositiveSmallIntegerField(default=0, verbose_name="attempts")),
                        (
                            "next_attempt_at",
                            models.DateTimeField(default=django.utils.timezone.now, verbose_name="not before"),
                        ),
                        ("enqueued_at", models.DateTimeField(blank=True, editable=False, null=True)),
                        ("claim_token", models.UUIDField(blank=True, editable=False, null=True)),
                        ("claimed_at", models.DateTimeField(blank=True, editable=False, null=True)),
                        (
                            "handed_over_at",
                            models.DateTimeField(blank=True, null=True, verbose_name="handed to the mail server at"),
                        ),
                        ("sent_at", models.DateTimeField(blank=True, null=True, verbose_name="sent at")),
                        ("last_error", models.TextField(blank=True, verbose_name="last error")),
                        ("source_app", models.CharField(blank=True, max_length=30, verbose_name="sent for")),
                        ("source_ref", models.CharField(blank=True, max_length=100, verbose_name="reference")),
                        (
                            "created_at",
                            models.DateTimeField(
                                default=django.utils.timezone.now, editable=False, verbose_name="created at"
                            ),
                        ),
                        ("updated_at", models.DateTimeField(auto_now=True, verbose_name="updated at")),
                        (
                            "broadcast",
                            models.ForeignKey(
                                blank=True,
                                db_index=False,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="messages",
                                to="outreach.broadcast",
                                verbose_name="broadcast",
                            ),
                        ),
                        (
                            "customer",
                            models.ForeignKey(
                                db_index=False,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="outbound_messages",
                                to="customers.customer",
                                verbose_name="customer",
                            ),
                        ),
                        (
                            "followup",
                            models.ForeignKey(
                                blank=True,
                                db_index=False,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="messages",
                                to="outreach.followup",
                                verbose_name="follow-up",
                            ),
                        ),
                        (
                            "template",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="messages",
                                to="outreach.messagetemplate",
                                verbose_name="template",
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
                                verbose_name="timeline entry",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "outbound message",
                        "verbose_name_plural": "outbound messages",
                        "db_table": "touchpoints_outboundmessage",
                        "ordering": ["-created_at", "-id"],
                    },
                ),
                migrations.CreateModel(
                    name="StaffTask",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("title", models.CharField(max_length=200, verbose_name="task")),
                        ("note", models.TextField(blank=True, max_length=20000, verbose_name="note")),
                        (
                            "channel",
                            models.CharField(
                                choices=[
                                    ("email", "Email"),
                                    ("phone", "Phone"),
                                    ("line", "LINE"),
                                    ("sms", "SMS"),
                                    ("web", "Web"),
                                    ("social", "Social media"),
                                    ("store", "Store"),
                                    ("event", "Event"),
                                    ("advertising", "Advertising"),
                                    ("post", "Post"),
                                    ("other", "Other"),
                                ],
                                default="phone",
                                max_length=20,
                                verbose_name="channel",
                            ),
                        ),
                        ("due_at", models.DateTimeField(verbose_name="due")),
                        (
                            "status",
                            models.CharField(
                                choices=[("open", "Open"), ("done", "Done"), ("cancelled", "Cancelled")],
                                default="open",
                                max_length=10,
                                verbose_name="status",
                            ),
                        ),
                        ("done_at", models.DateTimeField(blank=True, null=True, verbose_name="done at")),
                        (
                            "created_at",
                            models.DateTimeField(
                                default=django.utils.timezone.now, editable=False, verbose_name="created at"
                            ),
                        ),
                        ("updated_at", models.DateTimeField(auto_now=True, verbose_name="updated at")),
                        (
                            "assignee",
                            models.ForeignKey(
                                blank=True,
                                db_index=False,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="staff_tasks",
                                to=settings.AUTH_USER_MODEL,
                                verbose_name="assigned to",
                            ),
                        ),
                        (
                            "customer",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="staff_tasks",
                                to="customers.customer",
                                verbose_name="customer",
                            ),
                        ),
                        (
                            "done_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                                verbose_name="done by",
                            ),
                        ),
                        (
                            "followup",
                            models.OneToOneField(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="task",
                                to="outreach.followup",
                                verbose_name="follow-up",
                            ),
                        ),
                        (
                            "group",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to="auth.group",
                                verbose_name="team",
                            ),
                        ),
                        (
                            "message",
                            models.OneToOneField(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="task",
                                to="outreach.outboundmessage",
                                verbose_name="message",
                            ),
                        ),
                        (
                            "touchpoint",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to="touchpoints.touchpoint",
                                verbose_name="logged as",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "staff task",
                        "verbose_name_plural": "staff tasks",
                        "db_table": "touchpoints_stafftask",
                        "ordering": ["due_at", "id"],
                    },
                ),
                migrations.AddIndex(
                    model_name="followup",
                    index=models.Index(
                        condition=models.Q(("status", "scheduled")), fields=["due_at", "id"], name="followup_due_idx"
                    ),
                ),
                migrations.AddIndex(
                    model_name="followup",
                    index=models.Index(fields=["customer", "-due_at"], name="followup_customer_idx"),
                ),
                migrations.AddConstraint(
                    model_name="followup",
                    constraint=models.UniqueConstraint(
                        fields=("rule", "trigger_key"), name="followup_once_per_trigger"
                    ),
                ),
                migrations.AddConstraint(
                    model_name="messagetemplate",
                    constraint=models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("body_ja", ""), _negated=True),
                            models.Q(("body_en", ""), _negated=True),
                            _connector="OR",
                        ),
                        name="messagetemplate_has_a_body",
                        violation_error_message="Write the message in Japanese, in English, or both.",
                    ),
                ),
                migrations.AddIndex(
                    model_name="followuprule",
                    index=models.Index(
                        condition=models.Q(("is_active", True)),
                        fields=["trigger", "trigger_type"],
                        name="rule_trigger_idx",
                    ),
                ),
                migrations.AddConstraint(
                    model_name="followuprule",
                    constraint=models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("trigger", "touchpoint"), ("trigger_type__isnull", False)),
                            models.Q(("trigger", "stage"), models.Q(("trigger_stage", ""), _negated=True)),
                            models.Q(("inactive_days__gte", 1), ("trigger", "inactive")),
                            _connector="OR",
                        ),
                        name="followuprule_trigger_complete",
                    ),
                ),
                migrations.AddConstraint(
                    model_name="followuprule",
                    constraint=models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("action", "send"), ("template__isnull", False)),
                            models.Q(("action", "task"), models.Q(("task_title", ""), _negated=True)),
                            _connector="OR",
                        ),
                        name="followuprule_action_complete",
                    ),
                ),
                migrations.AddIndex(
                    model_name="broadcast",
                    index=models.Index(
                        condition=models.Q(("status__in", ["scheduled", "preparing", "sending"])),
                        fields=["status", "send_at"],
                        name="broadcast_due_idx",
                    ),
                ),
                migrations.AddIndex(
                    model_name="outboundmessage",
                    index=models.Index(
                        condition=models.Q(("status", "queued")),
                        fields=["status", "next_attempt_at"],
                        name="outbox_due_idx",
                    ),
                ),
                migrations.AddIndex(
                    model_name="outboundmessage",
                    index=models.Index(
                        condition=models.Q(("claim_token__isnull", False)),
                        fields=["claim_token"],
                        name="outbox_claim_idx",
                    ),
                ),
                migrations.AddIndex(
                    model_name="outboundmessage",
                    index=models.Index(
                        condition=models.Q(("status", "sent"), ("touchpoint__isnull", True)),
                        fields=["sent_at"],
                        name="outbox_untracked_idx",
                    ),
                ),
                migrations.AddIndex(
                    model_name="outboundmessage",
                    index=models.Index(fields=["-created_at", "-id"], name="outbox_created_idx"),
                ),
                migrations.AddIndex(
                    model_name="outboundmessage",
                    index=models.Index(fields=["status", "-created_at", "-id"], name="outbox_status_idx"),
                ),
                migrations.AddIndex(
                    model_name="outboundmessage",
                    index=models.Index(fields=["customer", "-created_at"], name="outbox_customer_idx"),
                ),
                migrations.AddIndex(
                    model_name="outboundmessage",
                    index=models.Index(
                        condition=models.Q(("broadcast__isnull", False)),
                        fields=["broadcast", "status"],
                        name="outbox_broadcast_idx",
                    ),
                ),
                migrations.AddIndex(
                    model_name="outboundmessage",
                    index=models.Index(
                        condition=models.Q(("followup__isnull", False)), fields=["followup"], name="outbox_followup_idx"
                    ),
                ),
                migrations.AddConstraint(
                    model_name="outboundmessage",
                    constraint=models.CheckConstraint(
                        condition=models.Q(("status__in", ["queued", "sending", "sent", "failed", "skipped"])),
                        name="outbox_status_valid",
                    ),
                ),
                migrations.AddConstraint(
                    model_name="outboundmessage",
                    constraint=models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("status", "sending"), _negated=True),
                            ("claim_token__isnull", False),
                            _connector="OR",
                        ),
                        name="outbox_sending_is_claimed",
                    ),
                ),
                migrations.AddConstraint(
                    model_name="outboundmessage",
                    constraint=models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("status", "sent"), _negated=True), ("sent_at__isnull", False), _connector="OR"
                        ),
                        name="outbox_sent_has_time",
                    ),
                ),
                migrations.AddIndex(
                    model_name="stafftask",
                    index=models.Index(
                        condition=models.Q(("status", "open")),
                        fields=["assignee", "due_at", "id"],
                        name="task_assignee_idx",
                    ),
                ),
                migrations.AddIndex(
                    model_name="stafftask",
                    index=models.Index(
                        condition=models.Q(("status", "open")), fields=["group", "due_at", "id"], name="task_group_idx"
                    ),
                ),
                migrations.AddIndex(
                    model_name="stafftask",
                    index=models.Index(fields=["customer", "-created_at"], name="task_customer_idx"),
                ),
            ],
            database_operations=[],
        ),
    ]
