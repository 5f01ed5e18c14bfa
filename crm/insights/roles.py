"""What each staff role may see of the dashboard and the reports (granted by crm's roles migration)."""

from __future__ import annotations

from customers.roles import MANAGER, MARKETING, SUPPORT

INSIGHTS_PERMISSIONS: dict[str, list[str]] = {
    MANAGER: [
        "insights.view_dashboard",
        "insights.view_customer_figures",
        "insights.view_service_figures",
        "insights.view_revenue",
        "insights.export_reports",
    ],
    SUPPORT: ["insights.view_dashboard", "insights.view_service_figures"],
    MARKETING: ["insights.view_dashboard", "insights.view_customer_figures"],
}
