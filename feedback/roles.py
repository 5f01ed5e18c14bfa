"""What each staff role may do with feedback, granted by a data migration (see customers/roles.py).

Support works tickets (reply, note, assign, resolve, close, in bulk too), keeps the canned responses and
sends NPS surveys; marketing reads the figures and the survey answers and sends NPS surveys; managers do
everything, the SLA policies and the business calendar included.
"""

from __future__ import annotations

from customers.roles import MANAGER, MARKETING, SUPPORT


def _crud(model: str) -> list[str]:
    return [f"feedback.{action}_{model}" for action in ("view", "add", "change", "delete")]


FEEDBACK_PERMISSIONS: dict[str, list[str]] = {
    MANAGER: [
        *_crud("ticket"),
        "feedback.view_figures",
        "feedback.bulk_change_ticket",
        *_crud("ticketmessage"),
        *_crud("tickettag"),
        *_crud("cannedresponse"),
        *_crud("slapolicy"),
        *_crud("businesshours"),
        *_crud("holiday"),
        "feedback.view_slawarning",
        *_crud("survey"),
        "feedback.send_survey",
    ],
    SUPPORT: [
        "feedback.view_ticket",
        "feedback.add_ticket",
        "feedback.change_ticket",
        "feedback.bulk_change_ticket",
        "feedback.view_figures",
        "feedback.view_ticketmessage",
        "feedback.add_ticketmessage",
        "feedback.view_tickettag",
        "feedback.add_tickettag",
        *_crud("cannedresponse"),
        "feedback.view_slapolicy",
        "feedback.view_businesshours",
        "feedback.view_holiday",
        "feedback.view_slawarning",
        "feedback.view_survey",
        "feedback.send_survey",
    ],
    MARKETING: [
        "feedback.view_figures",
        "feedback.view_survey",
        "feedback.send_survey",
    ],
}
