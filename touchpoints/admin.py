"""Admin for the journey. Touchpoints, stages and keys are written by the services, so those pages are
read-only (a touchpoint may be added here, through ``touchpoint_record``); the catalogue is edited freely."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from . import services
from .models import (
    ApiKey,
    CustomerJourney,
    StageTransition,
    Touchpoint,
    TouchpointType,
)


@admin.register(TouchpointType)
class TouchpointTypeAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "stage", "kind", "position", "is_active"]
    list_editable = ["position", "is_active"]
    list_filter = ["stage", "kind", "is_active"]
    search_fields = ["name", "slug", "description"]
    ordering = ["position", "name"]

    def get_readonly_fields(self, request, obj=None):
        return ["slug", "created_at", "updated_at"] if obj else ["created_at", "updated_at"]


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Touchpoint)
class TouchpointAdmin(admin.ModelAdmin):
    list_display = ["occurred_at", "customer", "type", "stage", "channel", "direction", "amount", "source"]
    list_filter = ["stage", "channel", "direction", "source", "type"]
    list_select_related = ["customer", "type"]
    search_fields = ["summary", "order_reference", "campaign", "idempotency_key", "customer__email"]
    autocomplete_fields = ["customer", "type"]
    date_hierarchy = "occurred_at"
    show_full_result_count = False
    fields = [
        "customer",
        "type",
        "channel",
        "direction",
        "occurred_at",
        "summary",
        "amount",
        "currency",
        "order_reference",
        "campaign",
        "utm_source",
        "metadata",
        "idempotency_key",
        "stage",
        "source",
        "recorded_by_user",
        "recorded_by_api_key",
        "created_at",
    ]

    def get_readonly_fields(self, request, obj=None):
        return ["stage", "source", "recorded_by_user", "recorded_by_api_key", "created_at"]

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        touchpoint = services.touchpoint_record(
            customer=data["customer"],
            touchpoint_type=data["type"],
            channel=data["channel"],
            direction=data["direction"],
            occurred_at=data["occurred_at"],
            summary=data["summary"],
            amount=data["amount"],
            currency=data["currency"],
            order_reference=data["order_reference"],
            campaign=data["campaign"],
            utm_source=data["utm_source"],
            metadata=data["metadata"] or {},
            idempotency_key=data["idempotency_key"],
            by=request.user,
        )
        obj.pk = touchpoint.pk


@admin.register(CustomerJourney)
class CustomerJourneyAdmin(ReadOnlyAdmin):
    list_display = ["customer", "stage", "stage_since", "created_at"]
    list_filter = ["stage"]
    list_select_related = ["customer"]
    search_fields = ["customer__family_name", "customer__email", "customer__external_id"]
    autocomplete_fields = ["customer"]
    show_full_result_count = False


@admin.register(StageTransition)
class StageTransitionAdmin(ReadOnlyAdmin):
    list_display = ["at", "customer", "from_stage", "to_stage", "channel", "is_manual", "by", "ended_at"]
    list_filter = ["to_stage", "from_stage", "is_manual", "channel"]
    list_select_related = ["customer", "by"]
    search_fields = ["customer__family_name", "customer__email", "reason"]
    autocomplete_fields = ["customer", "touchpoint", "by"]
    date_hierarchy = "at"
    show_full_result_count = False


@admin.register(ApiKey)
class ApiKeyAdmin(ReadOnlyAdmin):
    """Keys are created on the staff page (Journey → API keys), the one place that shows a new key."""

    list_display = ["name", "prefix", "created_by", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    list_select_related = ["created_by"]
    search_fields = ["name", "prefix"]
    autocomplete_fields = ["created_by"]
    exclude = ["key_hash"]
    actions = ["revoke"]

    @admin.action(description=_("Revoke the selected keys"), permissions=["revoke"])
    def revoke(self, request, queryset):
        for api_key in queryset.filter(revoked_at__isnull=True):
            services.api_key_revoke(api_key=api_key, by=request.user)
        messages.success(request, _("The selected keys were revoked."))

    def has_revoke_permission(self, request) -> bool:
        return request.user.has_perm("touchpoints.change_apikey")
