from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import Customer, CustomerMerge, CustomerTag, ImportBatch, Note, Segment, Tag


class NoteInline(admin.TabularInline):
    model = Note
    extra = 0
    fields = ["body", "author", "created_at"]
    readonly_fields = ["author", "created_at"]
    ordering = ["-created_at"]


class CustomerTagInline(admin.TabularInline):
    model = CustomerTag
    extra = 0
    fields = ["tag"]
    autocomplete_fields = ["tag"]
    verbose_name = _("tag")
    verbose_name_plural = _("tags")


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "family_name",
        "given_name",
        "email",
        "phone",
        "company",
        "source",
        "owner",
        "marketing_consent",
        "do_not_contact",
        "created_at",
    ]
    list_display_links = ["id", "family_name"]
    list_filter = ["source", "marketing_consent", "do_not_contact", "preferred_language", "tags"]
    list_select_related = ["owner"]
    search_fields = [
        "family_name",
        "given_name",
        "family_name_kana",
        "given_name_kana",
        "email",
        "phone",
        "company",
        "external_id",
    ]
    autocomplete_fields = ["owner"]
    readonly_fields = ["created_at", "updated_at", "last_activity"]

    def get_search_results(self, request, queryset, search_term):
        """The staff list's search (customers.querysets.search): kana typed in hiragana or katakana, full or
        half width, and phone numbers typed any way (090-1234-5678, ０９０１２３４５６７８) — the admin's own
        ``icontains`` over the columns found neither."""
        if not search_term.strip():
            return queryset, False
        return queryset.search(search_term), False

    date_hierarchy = "created_at"
    show_full_result_count = False
    inlines = [CustomerTagInline, NoteInline]
    fieldsets = [
        (None, {"fields": [("family_name", "given_name"), ("family_name_kana", "given_name_kana"), "birth_date"]}),
        (
            _("Contact"),
            {
                "fields": [
                    "email",
                    "phone",
                    "company",
                    "postal_code",
                    "region",
                    "city",
                    "address_line1",
                    "address_line2",
                    "country",
                    "preferred_channel",
                    "preferred_language",
                ]
            },
        ),
        (_("CRM"), {"fields": ["source", "owner", "external_id"]}),
        (
            _("Consent"),
            {"fields": ["marketing_consent", "consent_at", "consent_source", "consent_evidence", "do_not_contact"]},
        ),
        (_("History"), {"fields": ["created_at", "updated_at", "last_activity"]}),
    ]

    @admin.display(description=_("last activity"))
    def last_activity(self, obj: Customer):
        return obj.last_activity_at

    def save_model(self, request, obj, form, change):
        obj.email = (obj.email or "").strip().lower()
        super().save_model(request, obj, form, change)


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "color", "description", "created_at"]
    search_fields = ["name"]


@admin.register(Note)
class NoteAdmin(admin.ModelAdmin):
    list_display = ["customer", "author", "created_at", "body"]
    list_select_related = ["customer", "author"]
    search_fields = ["body", "customer__family_name", "customer__email"]
    autocomplete_fields = ["customer", "author"]
    date_hierarchy = "created_at"
    show_full_result_count = False


@admin.register(CustomerMerge)
class CustomerMergeAdmin(admin.ModelAdmin):
    list_display = ["customer", "merged_customer_id", "merged_by", "created_at"]
    list_select_related = ["customer", "merged_by"]
    search_fields = ["merged_customer_id", "customer__family_name"]
    readonly_fields = ["customer", "merged_customer_id", "merged_data", "moved", "merged_by", "created_at"]

    def has_add_permission(self, request):
        return False


@admin.register(ImportBatch)
class ImportBatchAdmin(admin.ModelAdmin):
    list_display = ["file_name", "status", "row_count", "created_count", "updated_count", "created_by", "created_at"]
    list_filter = ["status"]
    list_select_related = ["created_by"]
    exclude = ["content"]
    readonly_fields = [
        "file_name",
        "encoding",
        "status",
        "row_count",
        "created_count",
        "updated_count",
        "errors",
        "created_by",
        "created_at",
        "applied_at",
    ]

    def has_add_permission(self, request):
        return False


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    list_display = ["name", "description", "created_by", "updated_at"]
    list_select_related = ["created_by"]
    search_fields = ["name", "description"]
    readonly_fields = ["created_by", "created_at", "updated_at"]
