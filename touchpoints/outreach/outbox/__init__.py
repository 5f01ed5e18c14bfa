"""The outbox: every message to a customer is a row with a unique key, sent once.

The exactly-once argument (claim, re-check, hand over, mark sent; the sweeper) is in docs/outbox.md.
Callers use the names re-exported here; ``publishing.publish`` is looked up at call time so tests can stub it.
"""

from .actions import may_send_service_messages, message_cancel, message_retry, message_template_save, sendable_templates
from .enqueue import (
    PreparedMessage,
    line_reachable,
    message_build,
    message_enqueue,
    messages_insert,
    render_for,
    skip_reason_for,
    staff_tasks_for_messages,
)
from .policy import quiet_hours, quiet_until
from .publishing import publish, publish_on_commit
from .send import SendReport, backoff, email_for, message_send, messages_send
from .sweep import SweepReport, outbox_publish_due, outbox_recover, outbox_repair_timeline, outbox_sweep
from .timeline import messages_record_timeline
from .unsubscribe import (
    customer_id_from_token,
    customer_unsubscribe,
    message_id_for,
    one_click_unsubscribe_url,
    unsubscribe_mailto,
    unsubscribe_token,
    unsubscribe_url,
)

__all__ = [
    "PreparedMessage",
    "SendReport",
    "SweepReport",
    "backoff",
    "customer_id_from_token",
    "customer_unsubscribe",
    "email_for",
    "line_reachable",
    "may_send_service_messages",
    "message_build",
    "message_cancel",
    "message_enqueue",
    "message_id_for",
    "message_retry",
    "message_send",
    "message_template_save",
    "messages_insert",
    "messages_record_timeline",
    "messages_send",
    "one_click_unsubscribe_url",
    "outbox_publish_due",
    "outbox_recover",
    "outbox_repair_timeline",
    "outbox_sweep",
    "publish",
    "publish_on_commit",
    "quiet_hours",
    "quiet_until",
    "render_for",
    "sendable_templates",
    "skip_reason_for",
    "staff_tasks_for_messages",
    "unsubscribe_mailto",
    "unsubscribe_token",
    "unsubscribe_url",
]
