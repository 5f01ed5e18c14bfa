from django.contrib import admin

from .models import DataRequest


@admin.register(DataRequest)
class DataRequestAdmin(admin.ModelAdmin):
    """Read-only: requests are recorded and carried out on the staff pages, through the services."""

    list_display = ("requested_at", "kind", "customer_ref", "status", "handled_by", "completed_at")
    list_filter = ("kind", "status", "received_via")
    date_hierarchy = "requested_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
