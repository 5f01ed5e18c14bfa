"""Admin for loyalty. Programmes, tiers and rewards are edited freely (through their services); memberships,
the ledger, redemptions, tier changes and greetings are written by the services only, so their pages are
read-only and nothing there can be deleted (the ledger is append-only; a correction is a new entry)."""

from django.contrib import admin
from django.core.exceptions import ValidationError

from . import services
from .models import Greeting, LedgerEntry, LoyaltyAccount, Membership, Programme, Redemption, Reward, Tier, TierChange


class ServiceSaveMixin:
    service = None

    def save_model(self, request, obj, form, change):
        try:
            type(self).service(obj)
        except ValidationError as exc:  # checked by the form already; a race lands here
            self.message_user(request, " ".join(exc.messages), level="error")


class TierInline(admin.TabularInline):
    model = Tier
    extra = 0
    fields = ["position", "name", "threshold", "multiplier", "benefits"]
    ordering = ["position"]


@admin.register(Programme)
class ProgrammeAdmin(ServiceSaveMixin, admin.ModelAdmin):
    list_display = ["name", "currency", "earn_rate", "points_lifetime_months", "tier_basis", "is_active"]
    list_filter = ["is_active", "tier_basis", "currency"]
    search_fields = ["name", "description"]
    inlines = [TierInline]
    readonly_fields = ["created_at", "updated_at"]

    @staticmethod
    def service(obj):
        return services.programme_save(programme=obj)


@admin.register(Tier)
class TierAdmin(ServiceSaveMixin, admin.ModelAdmin):
    list_display = ["name", "programme", "position", "threshold", "multiplier"]
    list_filter = ["programme"]
    list_select_related = ["programme"]
    search_fields = ["name"]
    ordering = ["programme", "position"]

    @staticmethod
    def service(obj):
        return services.tier_save(tier=obj)


@admin.register(Reward)
class RewardAdmin(ServiceSaveMixin, admin.ModelAdmin):
    list_display = ["name", "programme", "kind", "points_cost", "stock", "min_tier", "is_active"]
    list_filter = ["programme", "kind", "is_active"]
    list_select_related = ["programme", "min_tier"]
    search_fields = ["name", "description"]

    @staticmethod
    def service(obj):
        return services.reward_save(reward=obj)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Membership)
class MembershipAdmin(ReadOnlyAdmin):
    list_display = ["member_number", "customer", "programme", "tier", "status", "balance", "joined_at"]
    list_filter = ["programme", "status", "tier"]
    list_select_related = ["customer", "programme", "tier"]
    search_fields = ["member_number", "referral_code", "customer__email", "customer__family_name"]
    raw_id_fields = ["customer", "referred_by"]
    date_hierarchy = "joined_at"
    show_full_result_count = False


@admin.register(LoyaltyAccount)
class LoyaltyAccountAdmin(ReadOnlyAdmin):
    list_display = ["customer", "memberships", "created_at"]
    list_select_related = ["customer"]
    raw_id_fields = ["customer"]
    show_full_result_count = False


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "membership", "kind", "points", "remaining", "expires_on", "source", "reason"]
    list_filter = ["kind", "source"]
    list_select_related = ["membership"]
    search_fields = ["key", "order_reference", "membership__member_number"]
    raw_id_fields = ["membership", "touchpoint", "redemption"]
    date_hierarchy = "created_at"
    show_full_result_count = False


@admin.register(Redemption)
class RedemptionAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "voucher_code", "membership", "reward", "points", "status", "source"]
    list_filter = ["status", "source", "reward__programme"]
    list_select_related = ["membership", "reward"]
    search_fields = ["voucher_code", "idempotency_key", "membership__member_number"]
    raw_id_fields = ["membership"]
    show_full_result_count = False


@admin.register(TierChange)
class TierChangeAdmin(ReadOnlyAdmin):
    list_display = ["at", "membership", "from_tier", "to_tier", "reason", "qualifying"]
    list_filter = ["reason"]
    list_select_related = ["membership", "from_tier", "to_tier"]
    raw_id_fields = ["membership"]
    show_full_result_count = False


@admin.register(Greeting)
class GreetingAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "customer", "kind", "occasion", "due_on", "status", "bonus_points"]
    list_filter = ["kind", "status"]
    list_select_related = ["customer"]
    search_fields = ["occasion", "customer__email"]
    raw_id_fields = ["customer", "membership"]
    date_hierarchy = "due_on"
    show_full_result_count = False
