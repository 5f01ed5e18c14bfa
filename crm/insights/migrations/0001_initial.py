"""The insights models, moved from the crm app with their tables (``db_table``): state only, no database change.

The tables, indexes and constraints were created by crm's migrations 0001-0006 and stay as they are; crm 0007 then
drops the models from crm's state.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("crm", "0006_customer_lapses"),
        ("customers", "0013_fold_search_keys"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Report",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "report",
                        "verbose_name_plural": "reports",
                        "db_table": "crm_report",
                        "permissions": [
                            ("view_dashboard", "Can see the dashboard"),
                            ("view_customer_figures", "Can see retention, churn, cohorts, loyalty and journey figures"),
                            ("view_service_figures", "Can see ticket, response time, CSAT and NPS figures"),
                            ("view_revenue", "Can see revenue, order value and lifetime value"),
                            ("export_reports", "Can export reports as CSV"),
                        ],
                        "managed": False,
                        "default_permissions": (),
                    },
                ),
                migrations.CreateModel(
                    name="CustomerRollupState",
                    fields=[
                        ("customer_id", models.BigIntegerField(primary_key=True, serialize=False)),
                        ("activity_days", models.JSONField(default=list)),
                        ("purchase_days", models.JSONField(default=list)),
                        ("ledger_days", models.JSONField(default=list)),
                    ],
                    options={
                        "verbose_name": "customer rollup state",
                        "verbose_name_plural": "customer rollup states",
                        "db_table": "crm_customerrollupstate",
                    },
                ),
                migrations.CreateModel(
                    name="DailyRollup",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("day", models.DateField(unique=True, verbose_name="day")),
                        ("new_customers", models.IntegerField(default=0)),
                        ("touchpoints", models.IntegerField(default=0)),
                        ("orders", models.IntegerField(default=0)),
                        ("sales", models.DecimalField(decimal_places=2, default=0, max_digits=18)),
                        ("returns", models.IntegerField(default=0)),
                        ("refunds", models.DecimalField(decimal_places=2, default=0, max_digits=18)),
                        ("revenue", models.DecimalField(decimal_places=2, default=0, max_digits=18)),
                        ("tickets_opened", models.IntegerField(default=0)),
                        ("tickets_resolved", models.IntegerField(default=0)),
                        ("first_responses_due", models.IntegerField(default=0)),
                        ("first_responses_met", models.IntegerField(default=0)),
                        ("resolutions_due", models.IntegerField(default=0)),
                        ("resolutions_met", models.IntegerField(default=0)),
                        ("csat_answers", models.IntegerField(default=0)),
                        ("csat_satisfied", models.IntegerField(default=0)),
                        ("csat_score_sum", models.IntegerField(default=0)),
                        ("nps_answers", models.IntegerField(default=0)),
                        ("nps_promoters", models.IntegerField(default=0)),
                        ("nps_passives", models.IntegerField(default=0)),
                        ("nps_detractors", models.IntegerField(default=0)),
                        ("points_earned", models.BigIntegerField(default=0)),
                        ("points_bonus", models.BigIntegerField(default=0)),
                        ("points_redeemed", models.BigIntegerField(default=0)),
                        ("points_expired", models.BigIntegerField(default=0)),
                        ("points_adjusted", models.BigIntegerField(default=0)),
                        ("members_joined", models.IntegerField(default=0)),
                        ("members_closed", models.IntegerField(default=0)),
                        ("refreshed_at", models.DateTimeField(verbose_name="refreshed at")),
                    ],
                    options={
                        "verbose_name": "daily rollup",
                        "verbose_name_plural": "daily rollups",
                        "db_table": "crm_dailyrollup",
                        "ordering": ["day"],
                    },
                ),
                migrations.CreateModel(
                    name="RollupDirty",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("customer_id", models.BigIntegerField(blank=True, null=True)),
                        ("day", models.DateField(blank=True, null=True)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                    ],
                    options={
                        "verbose_name": "rollup to refresh",
                        "verbose_name_plural": "rollups to refresh",
                        "db_table": "crm_rollupdirty",
                    },
                ),
                migrations.CreateModel(
                    name="RollupWatermark",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("refreshed_at", models.DateTimeField(blank=True, null=True)),
                        ("rebuilt_at", models.DateTimeField(blank=True, null=True)),
                        ("lapse_days", models.PositiveIntegerField(blank=True, null=True)),
                        ("tiers", models.JSONField(blank=True, default=list)),
                        ("open_tickets", models.IntegerField(blank=True, null=True)),
                    ],
                    options={
                        "verbose_name": "rollup watermark",
                        "verbose_name_plural": "rollup watermarks",
                        "db_table": "crm_rollupwatermark",
                    },
                ),
                migrations.CreateModel(
                    name="CohortCell",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("cohort_month", models.DateField()),
                        ("month_offset", models.SmallIntegerField()),
                        ("customers", models.IntegerField()),
                    ],
                    options={
                        "verbose_name": "cohort cell",
                        "verbose_name_plural": "cohort cells",
                        "db_table": "crm_cohortcell",
                        "constraints": [
                            models.UniqueConstraint(fields=("cohort_month", "month_offset"), name="cohort_cell_unique")
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="CustomerLapse",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("customer_id", models.BigIntegerField()),
                        ("last_day", models.DateField(verbose_name="last activity before the lapse")),
                    ],
                    options={
                        "verbose_name": "customer lapse",
                        "verbose_name_plural": "customer lapses",
                        "db_table": "crm_customerlapse",
                        "indexes": [models.Index(fields=["last_day", "customer_id"], name="lapse_day_idx")],
                        "constraints": [
                            models.UniqueConstraint(fields=("customer_id", "last_day"), name="lapse_unique")
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="CustomerScore",
                    fields=[
                        (
                            "customer",
                            models.OneToOneField(
                                on_delete=django.db.models.deletion.CASCADE,
                                primary_key=True,
                                related_name="score",
                                serialize=False,
                                to="customers.customer",
                                verbose_name="customer",
                            ),
                        ),
                        ("last_purchase_at", models.DateTimeField(verbose_name="last purchase")),
                        ("recency_days", models.PositiveIntegerField(verbose_name="days since the last purchase")),
                        ("frequency", models.PositiveIntegerField(verbose_name="purchases")),
                        ("monetary", models.DecimalField(decimal_places=2, max_digits=16, verbose_name="net spend")),
                        ("r_score", models.PositiveSmallIntegerField(verbose_name="recency score")),
                        ("f_score", models.PositiveSmallIntegerField(verbose_name="frequency score")),
                        ("m_score", models.PositiveSmallIntegerField(verbose_name="monetary score")),
                        (
                            "segment",
                            models.CharField(
                                choices=[
                                    ("champions", "Champions"),
                                    ("loyal", "Loyal"),
                                    ("potential", "Potential loyalists"),
                                    ("new", "New customers"),
                                    ("promising", "Promising"),
                                    ("attention", "Needs attention"),
                                    ("about_to_sleep", "About to sleep"),
                                    ("at_risk", "At risk"),
                                    ("cant_lose", "Can't lose them"),
                                    ("hibernating", "Hibernating"),
                                    ("lost", "Lost"),
                                ],
                                max_length=20,
                                verbose_name="segment",
                            ),
                        ),
                        (
                            "previous_r_score",
                            models.PositiveSmallIntegerField(
                                blank=True, null=True, verbose_name="previous recency score"
                            ),
                        ),
                        (
                            "previous_segment",
                            models.CharField(
                                blank=True,
                                choices=[
                                    ("champions", "Champions"),
                                    ("loyal", "Loyal"),
                                    ("potential", "Potential loyalists"),
                                    ("new", "New customers"),
                                    ("promising", "Promising"),
                                    ("attention", "Needs attention"),
                                    ("about_to_sleep", "About to sleep"),
                                    ("at_risk", "At risk"),
                                    ("cant_lose", "Can't lose them"),
                                    ("hibernating", "Hibernating"),
                                    ("lost", "Lost"),
                                ],
                                max_length=20,
                                verbose_name="previous segment",
                            ),
                        ),
                        ("segment_since", models.DateTimeField(verbose_name="in this segment since")),
                        ("scored_at", models.DateTimeField(verbose_name="scored at")),
                    ],
                    options={
                        "verbose_name": "customer score",
                        "verbose_name_plural": "customer scores",
                        "db_table": "crm_customerscore",
                        "indexes": [
                            models.Index(fields=["segment", "-monetary", "customer"], name="score_segment_idx"),
                            models.Index(
                                condition=models.Q(
                                    ("segment__in", ["cant_lose", "at_risk", "about_to_sleep"]),
                                    models.Q(
                                        ("r_score__lt", models.F("previous_r_score")),
                                        ("segment__in", ["champions", "loyal"]),
                                    ),
                                    _connector="OR",
                                ),
                                fields=["-monetary", "-customer"],
                                name="score_contact_idx",
                            ),
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="RollupEdge",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("kind", models.CharField(max_length=10)),
                        ("from_day", models.DateField()),
                        ("to_day", models.DateField()),
                        ("from_is_first", models.BooleanField(default=False)),
                        ("n", models.IntegerField()),
                    ],
                    options={
                        "verbose_name": "rollup edge",
                        "verbose_name_plural": "rollup edges",
                        "db_table": "crm_rollupedge",
                        "indexes": [
                            models.Index(
                                fields=["kind", "to_day", "from_day", "n", "from_is_first"], name="rollup_edge_to_idx"
                            ),
                            models.Index(fields=["kind", "from_day", "to_day", "n"], name="rollup_edge_from_idx"),
                        ],
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("kind", "from_day", "to_day", "from_is_first"), name="rollup_edge_unique"
                            )
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="TicketResponse",
                    fields=[
                        ("ticket_id", models.BigIntegerField(primary_key=True, serialize=False)),
                        ("day", models.DateField()),
                        ("seconds", models.FloatField()),
                    ],
                    options={
                        "verbose_name": "ticket response time",
                        "verbose_name_plural": "ticket response times",
                        "db_table": "crm_ticketresponse",
                        "indexes": [models.Index(fields=["day", "seconds"], name="ticket_response_day_idx")],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
