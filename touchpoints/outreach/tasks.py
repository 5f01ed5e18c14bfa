"""Outreach tasks: thin, idempotent wrappers around the services (each is safe to run twice).

The periodic ones are declared in crm/celery.py's beat_schedule. The send tasks take ids, claim their
rows with a conditional UPDATE, and do nothing for rows another run already claimed or sent.
"""

from __future__ import annotations

from dataclasses import asdict

from celery import shared_task

from .broadcasts import broadcast_prepare, broadcasts_advance
from .channels.mailbox.fetching import mailboxes_fetch
from .channels.mailbox.ingest import mails_raw_drop
from .line.events import line_events_process
from .outbox import message_send, messages_send, outbox_sweep
from .rules import followups_dispatch, inactive_followups_schedule


@shared_task
def message_send_task(message_id: int) -> int:
    """Send one outbox row (queued by ``message_enqueue``). Returns how many were sent (0 or 1)."""
    return message_send(message_id=message_id).sent


@shared_task
def messages_send_task(message_ids: list[int]) -> int:
    """Send a batch of outbox rows over one mail-server connection."""
    return messages_send(message_ids=message_ids).sent


@shared_task
def outbox_sweep_task() -> dict:
    """Every tick: recover dead send attempts, publish due and lost messages, fill in the timeline."""
    return asdict(outbox_sweep())


@shared_task
def followups_dispatch_task() -> dict:
    """Every tick: claim due follow-ups (skip locked) and turn them into messages or staff tasks."""
    return asdict(followups_dispatch())


@shared_task
def inactive_followups_schedule_task() -> int:
    """Daily: schedule the "no touchpoint for N days" rules' follow-ups (index-driven, chunked)."""
    return inactive_followups_schedule()


@shared_task
def broadcasts_advance_task() -> dict:
    """Every tick: start broadcasts that are due, resume stalled preparations, close finished ones."""
    return broadcasts_advance()


@shared_task
def broadcast_prepare_task(broadcast_id: int) -> int:
    """Prepare a broadcast's messages in batches; a second run resumes or does nothing."""
    return broadcast_prepare(broadcast_id=broadcast_id)


@shared_task
def mailboxes_fetch_task() -> dict:
    """Every poll: store each mailbox's new mail once, move it, process it (threading, bounces, unsubscribes)."""
    return mailboxes_fetch()


@shared_task
def mails_raw_drop_task() -> int:
    """Nightly: drop the raw bytes of inbound mail older than TSUNAGU_INBOUND_RAW_RETENTION_DAYS."""
    return mails_raw_drop()


@shared_task
def line_events_process_task(event_ids: list[int]) -> int:
    """Work through LINE webhook events just stored (follow, unfollow, message, accountLink)."""
    return line_events_process(event_ids=event_ids)


@shared_task
def line_events_pending_task() -> int:
    """Every tick: LINE events whose task was lost (a broker outage) are processed here."""
    return line_events_process()
