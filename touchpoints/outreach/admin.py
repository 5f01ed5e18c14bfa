"""Admin for outreach. Templates and rules are edited here too (rules through ``rules.rule_save``); the
outbox, follow-ups, broadcasts and staff tasks are rows the services write, so they are read-only with
service actions."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from touchpoints.admin import ReadOnlyAdmin

from . import broadcasts, outbox, rules
from .models import (
    BouncedAddress,
    Broadcast,
    FollowUp,
    FollowUpRule,
    InboundMail,
    Mailbox,
    MessageTemplate,
    OutboundMessage,
    StaffTask,
)


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "channel", "purpose", "is_active", "updated_at"]
    list_filter = ["channel", "purpose", "is_active"]
    search_fields = ["name", "slug", "subject_ja", "subject_en"]
    readonly_fields = ["created_by", "created_at", "updated_at"]

    def get_readonly_fields(self, request, obj=None):
        return ["slug", *self.readonly_fields] if obj else self.readonly_fields


@admin.register(FollowUpRule)
class FollowUpRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "trigger", "trigger_type", "trigger_stage", "inactive_days", "action", "is_active"]
    list_filter = ["trigger", "action", "is_active"]
    list_select_related = ["trigger_type"]
    search_fields = ["name"]
    readonly_fields = ["inactive_scanned_until", "created_by", "created_at", "updated_at"]

    def save_model(self, request, obj, form, change):
        rules.rule_save(rule=obj, by=request.user)


@admin.register(FollowUp)
class FollowUpAdmin(ReadOnlyAdmin):
    list_display = ["due_at", "rule", "customer", "trigger_key", "status", "outcome", "dispatched_at"]
    list_filter = ["status", "outcome", "rule"]
    list_select_related = ["rule", "customer"]
    search_fields = ["trigger_key", "customer__email", "customer__family_name"]
    raw_id_fields = ["customer", "touchpoint"]
    date_hierarchy = "due_at"
    show_full_result_count = False
    actions = ["cancel"]

    @admin.action(description=_("Cancel the selected follow-ups"), permissions=["cancel"])
    def cancel(self, request, queryset):
        n = sum(rules.followup_cancel(followup=f, by=request.user) for f in queryset)
        messages.success(request, ngettext("%(n)d follow-up cancelled.", "%(n)d follow-ups cancelled.", n) % {"n": n})

    def has_cancel_permission(self, request) -> bool:
        return request.user.has_perm("outreach.change_followuprule")


@admin.register(OutboundMessage)
class OutboundMessageAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "customer", "channel", "purpose", "subject", "status", "skip_reason", "attempts"]
    list_filter = ["status", "skip_reason", "purpose", "channel", "source_app"]
    list_select_related = ["customer"]
    search_fields = ["key", "to_address", "subject", "source_ref"]
    raw_id_fields = ["customer", "template", "followup", "broadcast", "touchpoint"]
    exclude = ["claim_token"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    actions = ["retry", "cancel"]

    @admin.action(description=_("Retry the selected failed messages"), permissions=["change"])
    def retry(self, request, queryset):
        n = sum(outbox.message_retry(message=m, by=request.user) for m in queryset.filter(status="failed"))
        messages.success(request, ngettext("%(n)d message queued again.", "%(n)d messages queued again.", n) % {"n": n})

    @admin.action(description=_("Cancel the selected queued messages"), permissions=["change"])
    def cancel(self, request, queryset):
        n = sum(outbox.message_cancel(message=m, by=request.user) for m in queryset.filter(status="queued"))
        messages.success(request, ngettext("%(n)d message cancelled.", "%(n)d messages cancelled.", n) % {"n": n})

    def has_change_permission(self, request, obj=None):
        # No editing; the actions (retry, cancel) check this permission.
        return obj is None and request.user.has_perm("outreach.change_outboundmessage")


@admin.register(Broadcast)
class BroadcastAdmin(ReadOnlyAdmin):
    list_display = ["name", "template", "segment", "send_at", "status", "prepared_count", "total", "finished_at"]
    list_filter = ["status"]
    list_select_related = ["template", "segment"]
    search_fields = ["name"]
    exclude = ["cursor", "heartbeat_at"]
    actions = ["cancel"]

    @admin.action(description=_("Cancel the selected broadcasts"), permissions=["cancel"])
    def cancel(self, request, queryset):
        for broadcast in queryset.filter(status__in=["scheduled", "preparing", "sending"]):
            broadcasts.broadcast_cancel(broadcast=broadcast, by=request.user)
        messages.success(request, _("The selected broadcasts were cancelled."))

    def has_cancel_permission(self, request) -> bool:
        return request.user.has_perm("outreach.change_broadcast")


@admin.register(StaffTask)
class StaffTaskAdmin(ReadOnlyAdmin):
    list_display = ["due_at", "title", "customer", "channel", "assignee", "group", "status", "done_at"]
    list_filter = ["status", "channel", "group"]
    list_select_related = ["customer", "assignee", "group"]
    search_fields = ["title", "customer__email", "customer__family_name"]
    raw_id_fields = ["customer", "followup", "message", "touchpoint"]
    date_hierarchy = "due_at"
    show_full_result_count = False


# --- Inbound mail ------------------------------------------------------------------------------------------


@admin.register(Mailbox)
class MailboxAdmin(admin.ModelAdmin):
    """Mailboxes are configuration (superusers): the password never passes here, only the name of the
    environment variable that holds it."""

    list_display = ["name", "address", "purpose", "is_active", "host", "folder", "last_fetched_at", "last_error"]
    list_filter = ["purpose", "is_active"]
    search_fields = ["name", "address", "host"]
    raw_id_fields = ["assignee"]
    readonly_fields = ["password_variable", "uidvalidity", "last_uid", "last_fetched_at", "last_error"]
    actions = ["fetch_now"]

    @admin.action(description=_("Fetch the selected mailboxes now"))
    def fetch_now(self, request, queryset):
        from .channels.mailbox.fetching import MailboxError, mailbox_fetch

        for mailbox in queryset:
            try:
                report = mailbox_fetch(mailbox=mailbox, limit=200)
            except MailboxError as exc:
                self.message_user(request, f"{mailbox.name}: {exc}", messages.ERROR)
                continue
            self.message_user(request, f"{mailbox.name}: {report.stored} / {report.fetched}", messages.SUCCESS)


@admin.register(InboundMail)
class InboundMailAdmin(ReadOnlyAdmin):
    """Mail as received (the raw message is kept; not shown here). Read-only: the ingest services write it."""

    list_display = ["received_at", "mailbox", "message_id", "kind", "status", "attempts", "result"]
    list_filter = ["status", "kind", "mailbox"]
    search_fields = ["message_id"]
    exclude = ["raw"]
    show_full_result_count = False
    date_hierarchy = "received_at"


@admin.register(BouncedAddress)
class BouncedAddressAdmin(admin.ModelAdmin):
    """Addresses the outbox no longer mails (a permanent bounce). Deleting one lets mail go to it again."""

    list_display = ["address", "status_code", "bounced_at"]
    search_fields = ["address"]
    readonly_fields = ["address", "status_code", "diagnostic", "mail", "bounced_at"]

    def has_add_permission(self, request):
        return False
