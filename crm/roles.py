"""What each staff role may see of the dashboard and the reports (granted by crm's roles migration)."""

from __future__ import annotations

from customers.roles import MANAGER, MARKETING, SUPPORT

INSIGHTS_PERMISSIONS: dict[str, list[str]] = {
    MANAGER: [
        "crm.view_dashboard",
        "crm.view_customer_figures",
        "crm.view_service_figures",
        "crm.view_revenue",
        "crm.export_reports",
    ],
    SUPPORT: ["crm.view_dashboard", "crm.view_service_figures"],
    MARKETING: ["crm.view_dashboard", "crm.view_customer_figures"],
}
