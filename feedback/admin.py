"""Admin for every feedback model. Tickets, messages, warnings and surveys are written by the services, so
their pages are read-only here (staff work tickets on the feedback pages); policies, the business calendar,
tags and canned responses are edited freely. Customer text is shown as plain (escaped) text everywhere:
no ``format_html``/``mark_safe`` around anything a customer or staff member typed."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import services
from .models import (
    BusinessHours,
    CannedResponse,
    Holiday,
    SlaPolicy,
    SlaWarning,
    Survey,
    Ticket,
    TicketMessage,
    TicketTag,
)

User = get_user_model()


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class TicketMessageInline(admin.TabularInline):
    model = TicketMessage
    fields = ["created_at", "kind", "author", "body"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True
    ordering = ["-created_at", "-id"]

    def get_queryset(self, request):
        # The newest fifty: a ticket page stays small whatever the length of the conversation.
        qs = super().get_queryset(request).select_related("author")
        ids = list(qs.values_list("pk", flat=True)[:50])
        return qs.filter(pk__in=ids)


@admin.register(Ticket)
class TicketAdmin(ReadOnlyAdmin):
    list_display = [
        "reference",
        "subject",
        "customer",
        "kind",
        "channel",
        "priority",
        "status",
        "assignee",
        "created_at",
        "first_response_breached",
        "resolution_breached",
    ]
    list_filter = ["status", "priority", "kind", "channel", "first_response_breached", "resolution_breached"]
    list_select_related = ["customer", "assignee"]
    search_fields = ["=id", "subject", "order_reference", "customer__email"]
    raw_id_fields = ["customer", "touchpoint", "source_survey"]

    def get_search_results(self, request, queryset, search_term):
        # 「T-000123」 is that ticket: its subject search found the follow-up ticket quoting it first.
        exact = queryset.by_reference(search_term)
        if exact is not None:
            return exact, False
        return super().get_search_results(request, queryset, search_term)

    date_hierarchy = "created_at"
    show_full_result_count = False
    list_per_page = 50
    inlines = [TicketMessageInline]
    actions = ["close_selected"]
    readonly_fields = [
        "reference",
        "customer",
        "kind",
        "channel",
        "subject",
        "body",
        "priority",
        "status",
        "assignee",
        "tags",
        "touchpoint",
        "order_reference",
        "sla_policy",
        "first_response_due_at",
        "resolution_due_at",
        "first_responded_at",
        "resolved_at",
        "closed_at",
        "first_response_breached",
        "resolution_breached",
        "sla_paused_at",
        "next_due_at",
        "source_survey",
        "loop_closed_at",
        "created_by",
        "idempotency_key",
        "created_at",
        "updated_at",
    ]

    @admin.display(description=_("reference"), ordering="id")
    def reference(self, obj: Ticket) -> str:
        return obj.reference

    def get_queryset(self, request):
        return super().get_queryset(request).defer("body", "customer__search_text")

    @admin.action(description=_("Close the selected tickets"), permissions=["bulk_change"])
    def close_selected(self, request, queryset):
        count = services.tickets_bulk_close(
            ticket_ids=list(queryset.values_list("pk", flat=True)[:500]), by=request.user
        )
        self.message_user(request, ngettext("%(n)d ticket closed.", "%(n)d tickets closed.", count) % {"n": count})

    def has_bulk_change_permission(self, request) -> bool:
        return request.user.has_perm("feedback.bulk_change_ticket")


@admin.register(TicketMessage)
class TicketMessageAdmin(ReadOnlyAdmin):
    list_display = ["ticket", "kind", "author", "created_at", "excerpt"]
    list_filter = ["kind"]
    list_select_related = ["ticket", "author"]
    search_fields = ["=ticket__id", "body"]
    raw_id_fields = ["ticket", "customer"]
    show_full_result_count = False
    readonly_fields = ["ticket", "customer", "kind", "body", "author", "outbox_key", "created_at"]

    @admin.display(description=_("message"))
    def excerpt(self, obj: TicketMessage) -> str:
        return obj.body[:80]


@admin.register(TicketTag)
class TicketTagAdmin(admin.ModelAdmin):
    list_display = ["name", "created_at"]
    search_fields = ["name"]


class CannedResponseAdminForm(forms.ModelForm):
    class Meta:
        model = CannedResponse
        fields = ["title", "body", "body_en", "is_active"]

    def clean_body(self) -> str:
        body = self.cleaned_data["body"]
        try:
            services.canned_placeholders_check(body)
        except ValidationError as exc:
            raise ValidationError(exc.message_dict["body"]) from exc
        return body

    def clean_body_en(self) -> str:
        body = self.cleaned_data["body_en"]
        try:
            services.canned_placeholders_check(body)
        except ValidationError as exc:
            raise ValidationError(exc.message_dict["body"]) from exc
        return body


@admin.register(CannedResponse)
class CannedResponseAdmin(admin.ModelAdmin):
    form = CannedResponseAdminForm
    list_display = ["title", "is_active", "updated_at"]
    list_filter = ["is_active"]
    search_fields = ["title", "body", "body_en"]
    readonly_fields = ["created_by", "created_at", "updated_at"]

    def save_model(self, request, obj, form, change):
        services.canned_response_save(
            title=obj.title, body=obj.body, body_en=obj.body_en, is_active=obj.is_active, canned=obj, by=request.user
        )


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "priority",
        "is_follow_up",
        "first_response_minutes",
        "resolution_minutes",
        "business_hours",
        "warn_before_minutes",
    ]
    list_filter = ["business_hours", "is_follow_up"]


@admin.register(BusinessHours)
class BusinessHoursAdmin(admin.ModelAdmin):
    list_display = ["weekday", "opens_at", "closes_at"]
    list_filter = ["weekday"]


@admin.register(Holiday)
class HolidayAdmin(admin.ModelAdmin):
    list_display = ["date", "name"]
    search_fields = ["name"]
    date_hierarchy = "date"


@admin.register(SlaWarning)
class SlaWarningAdmin(ReadOnlyAdmin):
    list_display = ["ticket", "kind", "due_at", "created_at", "notified_at"]
    list_filter = ["kind"]
    list_select_related = ["ticket"]
    raw_id_fields = ["ticket"]
    search_fields = ["=ticket__id"]
    show_full_result_count = False
    readonly_fields = ["ticket", "kind", "due_at", "created_at", "notified_at"]


@admin.register(Survey)
class SurveyAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "customer", "score", "comment_excerpt", "created_at", "answered_at", "source"]
    list_filter = ["kind", "score"]
    list_select_related = ["customer"]
    raw_id_fields = ["customer", "ticket"]
    search_fields = ["=id", "customer__email", "comment"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    readonly_fields = [
        "customer",
        "kind",
        "ticket",
        "language",
        "score",
        "comment",
        "source",
        "created_by",
        "created_at",
        "answered_at",
    ]

    @admin.display(description=_("comment"))
    def comment_excerpt(self, obj: Survey) -> str:
        return obj.comment[:80]
