"""What each staff role may do (journey: migration 0003; outreach: 0005), granted with customers/roles.py.

Marketing works touchpoints and the catalogue and reads the funnel; support reads and logs touchpoints;
managers do everything, API keys included.
"""

from __future__ import annotations

from customers.roles import MANAGER, MARKETING, SUPPORT

JOURNEY_PERMISSIONS = {
    MANAGER: [
        "touchpoints.view_touchpoint",
        "touchpoints.add_touchpoint",
        "touchpoints.delete_touchpoint",
        "touchpoints.view_funnel",
        "touchpoints.view_touchpointtype",
        "touchpoints.add_touchpointtype",
        "touchpoints.change_touchpointtype",
        "touchpoints.view_customerjourney",
        "touchpoints.move_stage",
        "touchpoints.view_stagetransition",
        "touchpoints.view_apikey",
        "touchpoints.add_apikey",
        "touchpoints.change_apikey",
    ],
    MARKETING: [
        "touchpoints.view_touchpoint",
        "touchpoints.add_touchpoint",
        "touchpoints.view_funnel",
        "touchpoints.view_touchpointtype",
        "touchpoints.add_touchpointtype",
        "touchpoints.change_touchpointtype",
        "touchpoints.view_customerjourney",
        "touchpoints.move_stage",
        "touchpoints.view_stagetransition",
    ],
    SUPPORT: [
        "touchpoints.view_touchpoint",
        "touchpoints.add_touchpoint",
        "touchpoints.view_touchpointtype",
        "touchpoints.view_customerjourney",
        "touchpoints.view_stagetransition",
    ],
}


# Outreach (issue 4), granted by migration 0005: marketing writes templates, rules and broadcasts and
# reads the outbox; support works the staff tasks and reads the outbox; managers do everything.
OUTREACH_PERMISSIONS = {
    MANAGER: [
        "touchpoints.view_messagetemplate",
        "touchpoints.add_messagetemplate",
        "touchpoints.change_messagetemplate",
        "touchpoints.delete_messagetemplate",
        "touchpoints.view_followuprule",
        "touchpoints.add_followuprule",
        "touchpoints.change_followuprule",
        "touchpoints.delete_followuprule",
        "touchpoints.view_followup",
        "touchpoints.view_broadcast",
        "touchpoints.add_broadcast",
        "touchpoints.change_broadcast",
        "touchpoints.view_outboundmessage",
        "touchpoints.change_outboundmessage",
        "touchpoints.view_stafftask",
        "touchpoints.add_stafftask",
        "touchpoints.change_stafftask",
    ],
    MARKETING: [
        "touchpoints.view_messagetemplate",
        "touchpoints.add_messagetemplate",
        "touchpoints.change_messagetemplate",
        "touchpoints.delete_messagetemplate",
        "touchpoints.view_followuprule",
        "touchpoints.add_followuprule",
        "touchpoints.change_followuprule",
        "touchpoints.delete_followuprule",
        "touchpoints.view_followup",
        "touchpoints.view_broadcast",
        "touchpoints.add_broadcast",
        "touchpoints.change_broadcast",
        "touchpoints.view_outboundmessage",
    ],
    SUPPORT: [
        "touchpoints.view_stafftask",
        "touchpoints.change_stafftask",
        "touchpoints.view_outboundmessage",
        "touchpoints.view_followup",
    ],
}

# Service (transactional) messages reach customers without marketing consent: managers alone send them from rules
# and mark templates as such (migration 0009).
SERVICE_MESSAGE_PERMISSIONS = {MANAGER: ["touchpoints.send_service_message"]}
