from django.contrib import admin

from .models import AccessRecord


@admin.register(AccessRecord)
class AccessRecordAdmin(admin.ModelAdmin):
    """Read-only: the access log is append-only (a trigger refuses changes)."""

    list_display = ("at", "username", "api_key_id", "how", "what")
    list_filter = ("how",)
    date_hierarchy = "at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
