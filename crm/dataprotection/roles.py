"""Who handles privacy requests (APPI / GDPR): managers (granted by this app's roles migration)."""

from __future__ import annotations

from customers.roles import MANAGER

DATAPROTECTION_PERMISSIONS: dict[str, list[str]] = {
    MANAGER: [
        "dataprotection.view_datarequest",
        "dataprotection.add_datarequest",
        "dataprotection.erase_customer",
    ]
}
