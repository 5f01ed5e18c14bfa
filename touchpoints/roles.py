"""What each staff role may do in the journey (migration 0003), granted with customers/roles.py.

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
