"""Writes of the feedback app. Views, the admin, the API, the public pages and tasks all come here, so each
rule is written once. The names callers use are re-exported here."""

from .canned import (
    CANNED_PLACEHOLDERS,
    canned_placeholders_check,
    canned_response_delete,
    canned_response_render,
    canned_response_save,
)
from .form_confirmation import (
    ConfirmError,
    confirm_token,
    feedback_confirm,
    feedback_submit_pending,
    pending_from_token,
    pending_submissions_purge,
)
from .inbound import ticket_receive
from .public_form import feedback_submit, thanks_token, ticket_from_thanks_token
from .sla_job import SlaCheckResult, sla_check, sla_warnings_notify
from .surveys import (
    SurveyLinkError,
    survey_answer,
    survey_create,
    survey_from_token,
    survey_link,
    survey_open_for,
    survey_token,
)
from .tags import parse_tags
from .tickets import (
    allowed_transitions,
    ticket_assign,
    ticket_open,
    ticket_reply,
    ticket_status_change,
    ticket_update,
    transition_allowed,
)
from .tickets_bulk import tickets_bulk_assign, tickets_bulk_close
from .validation import BODY_MAX, COMMENT_MAX, NAME_MAX, ORDER_REFERENCE_MAX, SUBJECT_MAX

__all__ = [
    "ConfirmError",
    "confirm_token",
    "feedback_confirm",
    "feedback_submit_pending",
    "pending_from_token",
    "pending_submissions_purge",
    "BODY_MAX",
    "CANNED_PLACEHOLDERS",
    "COMMENT_MAX",
    "NAME_MAX",
    "ORDER_REFERENCE_MAX",
    "SUBJECT_MAX",
    "SlaCheckResult",
    "SurveyLinkError",
    "allowed_transitions",
    "canned_placeholders_check",
    "canned_response_delete",
    "canned_response_render",
    "canned_response_save",
    "feedback_submit",
    "parse_tags",
    "sla_check",
    "sla_warnings_notify",
    "survey_answer",
    "survey_create",
    "survey_from_token",
    "survey_link",
    "survey_open_for",
    "survey_token",
    "thanks_token",
    "ticket_assign",
    "ticket_from_thanks_token",
    "ticket_open",
    "ticket_receive",
    "ticket_reply",
    "ticket_status_change",
    "ticket_update",
    "tickets_bulk_assign",
    "tickets_bulk_close",
    "transition_allowed",
]
