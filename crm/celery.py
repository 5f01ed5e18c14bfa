"""The Celery app, with the safe baseline from shared/RELIABILITY.md.

Tasks are thin idempotent wrappers around services, so a task may run twice: we acknowledge late
and re-queue on a lost worker rather than lose work. Periodic jobs are declared in ``beat_schedule``
below, the one place they live; django-celery-beat's DatabaseScheduler copies them into its tables
when beat starts (staff can then pause one in the admin). Run exactly one beat in production.
"""

from __future__ import annotations

import os

from celery import Celery, signals
from celery.schedules import crontab

from crm.checks import require_secret_key

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")

app = Celery("tsunagu")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    accept_content=["json"],
    task_serializer="json",
    result_serializer="json",
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_time_limit=300,
    task_soft_time_limit=240,
    task_ignore_result=True,
    broker_connection_retry_on_startup=True,
    beat_scheduler="django_celery_beat.schedulers:DatabaseScheduler",
    worker_hijack_root_logger=False,
)
app.autodiscover_tasks()


@signals.worker_init.connect
@signals.beat_init.connect
def _require_secret_key(**kwargs) -> None:
    require_secret_key()


_outreach_tick = float(os.environ.get("TSUNAGU_OUTREACH_TICK_SECONDS") or 60)

# Every job listed here is safe to run twice (see shared/RELIABILITY.md).
app.conf.beat_schedule = {
    "customers: forget CSV uploads past TSUNAGU_IMPORT_RETENTION_DAYS": {
        "task": "customers.tasks.import_batch_purge_task",
        "schedule": 60 * 60,
    },
    # Feedback: warn the assignee and managers before and at SLA breaches (TSUNAGU_SLA_CHECK_SECONDS).
    "feedback: forget unconfirmed form messages past their link's life": {
        "task": "feedback.tasks.pending_submissions_purge_task",
        "schedule": 60 * 60,
    },
    "feedback: SLA warnings": {
        "task": "feedback.tasks.sla_check_task",
        "schedule": float(os.environ.get("TSUNAGU_SLA_CHECK_SECONDS") or 60),
        "options": {"expires": float(os.environ.get("TSUNAGU_SLA_CHECK_SECONDS") or 60)},
    },
    # Feedback: the figures page's rollup, refreshed from only the days that changed (TSUNAGU_ROLLUP_SECONDS), and
    # rebuilt nightly (a deletion leaves no trace for the refresh).
    "feedback: refresh the figures rollup": {
        "task": "feedback.tasks.figures_rollup_refresh_task",
        "schedule": float(os.environ.get("TSUNAGU_ROLLUP_SECONDS") or 300),
        "options": {"expires": float(os.environ.get("TSUNAGU_ROLLUP_SECONDS") or 300)},
    },
    "feedback: rebuild the figures rollup from scratch": {
        "task": "feedback.tasks.figures_rollup_rebuild_task",
        "schedule": crontab(minute=35, hour=18),  # 03:35 in Tokyo
    },
    # Outreach: due rows in the database, picked up every tick (TSUNAGU_OUTREACH_TICK_SECONDS).
    "touchpoints: dispatch due follow-ups": {
        "task": "touchpoints.outreach.tasks.followups_dispatch_task",
        "schedule": _outreach_tick,
        "options": {"expires": _outreach_tick},  # a backlog of ticks is not worth running
    },
    "touchpoints: start, resume and close broadcasts": {
        "task": "touchpoints.outreach.tasks.broadcasts_advance_task",
        "schedule": _outreach_tick,
        "options": {"expires": _outreach_tick},  # a backlog of ticks is not worth running
    },
    # Inbound mail: poll every active mailbox over IMAP (TSUNAGU_MAILBOX_POLL_SECONDS), process what waits.
    "touchpoints: fetch inbound mail": {
        "task": "touchpoints.outreach.tasks.mailboxes_fetch_task",
        "schedule": float(os.environ.get("TSUNAGU_MAILBOX_POLL_SECONDS") or 60),
        "options": {"expires": float(os.environ.get("TSUNAGU_MAILBOX_POLL_SECONDS") or 60)},
    },
    "touchpoints: drop old inbound mail's raw bytes": {
        "task": "touchpoints.outreach.tasks.mails_raw_drop_task",
        "schedule": crontab(minute=50, hour=18),  # 03:50 in Tokyo (TSUNAGU_INBOUND_RAW_RETENTION_DAYS)
    },
    "touchpoints: LINE webhook events left unprocessed": {
        "task": "touchpoints.outreach.tasks.line_events_pending_task",
        "schedule": _outreach_tick,
        "options": {"expires": _outreach_tick},  # a backlog of ticks is not worth running
    },
    "touchpoints: sweep the outbox (recover, re-publish, timeline)": {
        "task": "touchpoints.outreach.tasks.outbox_sweep_task",
        "schedule": _outreach_tick,
        "options": {"expires": _outreach_tick},  # a backlog of ticks is not worth running
    },
    # The journey funnel: fold the deltas the writes append into its rollups (TSUNAGU_FUNNEL_FOLD_SECONDS).
    "touchpoints: fold the funnel's deltas": {
        "task": "touchpoints.tasks.funnel_fold_task",
        "schedule": float(os.environ.get("TSUNAGU_FUNNEL_FOLD_SECONDS") or 60),
        "options": {"expires": float(os.environ.get("TSUNAGU_FUNNEL_FOLD_SECONDS") or 60)},
    },
    "touchpoints: schedule inactive-customer follow-ups": {
        "task": "touchpoints.outreach.tasks.inactive_followups_schedule_task",
        "schedule": crontab(minute=30, hour=18),  # 03:30 in Tokyo; UTC has no DST
    },
    # Loyalty. Each job works out "today" in the business time zone (TIME_ZONE) when it runs and is idempotent
    # per occasion, so running hourly (milestones) or at a fixed UTC time (nightly jobs) is safe; UTC has no DST.
    "loyalty: schedule today's birthday and anniversary greetings": {
        "task": "loyalty.tasks.milestones_schedule_task",
        "schedule": crontab(minute=5),
    },
    "loyalty: hand due greetings to the outbox": {
        "task": "loyalty.tasks.greetings_dispatch_task",
        "schedule": 5 * 60,
        "options": {"expires": 5 * 60},
    },
    "loyalty: expire points and remind of points expiring soon": {
        "task": "loyalty.tasks.points_expire_task",
        "schedule": crontab(minute=30, hour=15),  # 00:30 in Tokyo
    },
    "loyalty: yearly tier reviews that are due": {
        "task": "loyalty.tasks.tiers_review_task",
        "schedule": crontab(minute=50, hour=15),  # 00:50 in Tokyo
    },
    "loyalty: wallet pass updates that were never queued": {
        "task": "loyalty.tasks.wallet_passes_sweep_task",
        "schedule": 5 * 60,
        "options": {"expires": 5 * 60},
    },
    # Insights: the daily rollups the dashboard reads, refreshed incrementally (TSUNAGU_ROLLUP_SECONDS).
    "crm: refresh the insights rollups": {
        "task": "crm.insights.tasks.rollups_refresh_task",
        "schedule": float(os.environ.get("TSUNAGU_ROLLUP_SECONDS") or 300),
        "options": {"expires": float(os.environ.get("TSUNAGU_ROLLUP_SECONDS") or 300)},
    },
    "crm: rebuild the insights rollups from scratch": {
        "task": "crm.insights.tasks.rollups_rebuild_task",
        "schedule": crontab(minute=40, hour=18),  # 03:40 in Tokyo: about 2.5 minutes at a million customers
    },
    # Insights: RFM scores and segments (crm/insights/scoring.py); idempotent per day, an advisory lock stops overlaps.
    # Audit: forget access records older than TSUNAGU_AUDIT_RETENTION_DAYS (idempotent: a second run deletes nothing).
    "crm: purge the access log past its retention": {
        "task": "crm.audit.tasks.access_log_purge_task",
        "schedule": crontab(minute=20, hour=17),  # 02:20 in Tokyo
    },
    # Privacy: anonymise customers inactive for TSUNAGU_RETENTION_INACTIVE_YEARS (0: off); idempotent per customer.
    "crm: anonymise customers past the retention period": {
        "task": "crm.dataprotection.tasks.retention_anonymise_task",
        "schedule": crontab(minute=30, hour=17),  # 02:30 in Tokyo
    },
    "crm: refresh RFM scores": {
        "task": "crm.insights.tasks.scores_refresh_task",
        "schedule": crontab(minute=10, hour=17),  # 02:10 in Tokyo
    },
}
