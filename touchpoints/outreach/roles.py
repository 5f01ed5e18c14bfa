"""What each staff role may do in outreach (granted by touchpoints migrations 0005 and 0009 before the
models moved here with their permissions; see customers/roles.py).

Marketing writes templates, rules and broadcasts and reads the outbox; support works the staff tasks and
reads the outbox; managers do everything.
"""

from __future__ import annotations

from customers.roles import MANAGER, MARKETING, SUPPORT

OUTREACH_PERMISSIONS = {
    MANAGER: [
        "outreach.view_messagetemplate",
        "outreach.add_messagetemplate",
        "outreach.change_messagetemplate",
        "outreach.delete_messagetemplate",
        "outreach.view_followuprule",
        "outreach.add_followuprule",
        "outreach.change_followuprule",
        "outreach.delete_followuprule",
        "outreach.view_followup",
        "outreach.view_broadcast",
        "outreach.add_broadcast",
        "outreach.change_broadcast",
        "outreach.view_outboundmessage",
        "outreach.change_outboundmessage",
        "outreach.view_stafftask",
        "outreach.add_stafftask",
        "outreach.change_stafftask",
    ],
    MARKETING: [
        "outreach.view_messagetemplate",
        "outreach.add_messagetemplate",
        "outreach.change_messagetemplate",
        "outreach.delete_messagetemplate",
        "outreach.view_followuprule",
        "outreach.add_followuprule",
        "outreach.change_followuprule",
        "outreach.delete_followuprule",
        "outreach.view_followup",
        "outreach.view_broadcast",
        "outreach.add_broadcast",
        "outreach.change_broadcast",
        "outreach.view_outboundmessage",
    ],
    SUPPORT: [
        "outreach.view_stafftask",
        "outreach.change_stafftask",
        "outreach.view_outboundmessage",
        "outreach.view_followup",
    ],
}

# Service (transactional) messages reach customers without marketing consent: managers alone send them from rules
# and mark templates as such (migration 0009).
SERVICE_MESSAGE_PERMISSIONS = {MANAGER: ["outreach.send_service_message"]}

# LINE: who may see a customer's LINE link, link an unlinked contact by hand, or unlink (migration 0005).
LINE_PERMISSIONS = {
    MANAGER: ["outreach.view_lineuser", "outreach.change_lineuser"],
    SUPPORT: ["outreach.view_lineuser", "outreach.change_lineuser"],
    MARKETING: ["outreach.view_lineuser"],
}
