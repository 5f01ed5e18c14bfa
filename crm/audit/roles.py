"""Who may see the audit trail: managers (granted by this app's roles migration)."""

from __future__ import annotations

from customers.roles import MANAGER

AUDIT_PERMISSIONS: dict[str, list[str]] = {MANAGER: ["audit.view_audit"]}
