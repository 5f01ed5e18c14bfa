"""The audit trail: the access log (who opened or exported which customers) and the change history.

The change history is django-pghistory's: PostgreSQL triggers write an event row for every tracked
change, so bulk updates, raw SQL and COPY cannot slip past. The tracked models of other apps are
tracked through proxies declared here, so their triggers live in this app's migrations (the apps
below stay unaware of the audit). On SQLite (the embedded default) no trigger is installed: there is
no change history, and the pages say so.
"""

from __future__ import annotations

import pghistory
import pgtrigger
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from customers.models import Customer, CustomerTag, Note
from loyalty.models import LedgerEntry, Membership
from touchpoints.models import Touchpoint

from .fields import CustomerIdsField


# Both rows of an update: the row before (label "before") and after ("update"), written by the same statement,
# so the page shows before → after even for the first change after the history was installed.
# Fresh trackers for each model: a tracker narrows its condition to its model's fields when set up.
# ``pgtrigger.Statement``: one INSERT of events per statement, from its transition tables, for the tables that
# bulk writers fill (the CSV import, the seeders): a row trigger cost ~0.3 ms a row (a PL/pgSQL call with two
# subtransactions). The events are the same rows; a statement's "before" rows precede its "update" rows
# (triggers fire in name order), which is all the history page's pairing needs (per customer, in pgh_id order).
def changes(level: pgtrigger.Level = pgtrigger.Row) -> tuple[pghistory.RowEvent, ...]:
    return (
        pghistory.InsertEvent(level=level),
        pghistory.UpdateEvent("before", row=pghistory.Old, level=level),
        pghistory.UpdateEvent(level=level),
        pghistory.DeleteEvent(level=level),
    )


def links(level: pgtrigger.Level = pgtrigger.Row) -> tuple[pghistory.RowEvent, ...]:  # rows of a many-to-many
    return (pghistory.InsertEvent(level=level), pghistory.DeleteEvent(level=level))


class AccessRecord(models.Model):
    """Who opened or exported which customers' data. Append-only (a trigger), purged after the retention period."""

    class How(models.TextChoices):
        PAGE = "page", _("Customer page")
        TIMELINE = "timeline", _("Timeline")
        API = "api", _("API read")
        EXPORT = "export", _("Export")

    at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("staff member"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,  # the log outlives the account, and never blocks its deletion
    )
    username = models.CharField(_("username"), max_length=150, blank=True)  # as it was: the log outlives the user
    api_key_id = models.IntegerField(_("API key"), null=True, blank=True)
    how = models.CharField(_("how"), max_length=10, choices=How.choices)
    what = models.CharField(_("what"), max_length=100, blank=True)  # which export, which page
    customer_ids = CustomerIdsField(models.IntegerField(), verbose_name=_("customers"), default=list)
    filter = models.JSONField(_("filter used"), default=dict, blank=True)
    path = models.CharField(_("path"), max_length=300, blank=True)  # without its query string (no PII in logs)

    class Meta:
        verbose_name = _("access record")
        verbose_name_plural = _("access log")
        ordering = ["-at", "-id"]
        permissions = [("view_audit", _("Can see the change history and the access log"))]
        indexes = [GinIndex(fields=["customer_ids"], name="audit_access_customers_gin")]  # customer_ids && …

    def __str__(self) -> str:
        return f"{self.username or self.api_key_id} {self.how} {self.at:%Y-%m-%d %H:%M}"


# --- Tracked models (proxies keep their triggers in this app's migrations) ---------------------------


@pghistory.track(
    *changes(pgtrigger.Statement), exclude=["name_sort", "search_text", "updated_at"], model_name="CustomerEvent"
)
class TrackedCustomer(Customer):
    class Meta:
        proxy = True


@pghistory.track(*changes(), model_name="NoteEvent")
class TrackedNote(Note):
    class Meta:
        proxy = True


@pghistory.track(*links(pgtrigger.Statement), fields=["customer", "tag"], model_name="CustomerTagEvent")
class TrackedCustomerTag(CustomerTag):
    class Meta:
        proxy = True


# The ledger is append-only already; a manual adjustment's event adds who made it and from where (the context).
@pghistory.track(
    pghistory.InsertEvent(condition=pghistory.Q(new__kind=LedgerEntry.Kind.ADJUST)),
    fields=["membership", "kind", "points", "reason", "source", "by", "created_at"],
    model_name="LedgerAdjustEvent",
)
class TrackedLedgerEntry(LedgerEntry):
    class Meta:
        proxy = True


@pghistory.track(
    *changes(),
    fields=["customer", "programme", "member_number", "tier", "status", "referred_by", "closed_at"],
    model_name="MembershipEvent",
)
class TrackedMembership(Membership):
    class Meta:
        proxy = True


# Touchpoints are many and written in bulk (COPY): no trigger. A touchpoint taken back by hand (an undone call) is
# recorded explicitly by the service that takes it back; its summary stays out (it may hold what a customer said).
@pghistory.track(
    pghistory.ManualEvent("undone"),
    fields=["customer", "type", "channel", "direction", "occurred_at", "recorded_by_user"],
    model_name="TouchpointUndoEvent",
)
class TrackedTouchpoint(Touchpoint):
    class Meta:
        proxy = True


@pghistory.track(*changes(), fields=["username", "is_active", "is_staff", "is_superuser"], model_name="UserEvent")
class TrackedUser(User):
    class Meta:
        proxy = True


@pghistory.track(*links(), model_name="UserGroupEvent")
class TrackedUserGroup(User.groups.through):
    class Meta:
        proxy = True


@pghistory.track(*links(), model_name="GroupPermissionEvent")
class TrackedGroupPermission(Group.permissions.through):
    class Meta:
        proxy = True


# Two-factor devices (crm/accounts/two_factor.py): an authenticator app added (then confirmed) or removed, backup
# codes made or removed, and a backup code used to log in (a manual event: the token row is deleted by django-otp,
# as when codes are replaced). Only who, which device and whether confirmed: never the secret key nor the codes.
@pghistory.track(*changes(), fields=["user", "name", "confirmed"], model_name="TOTPDeviceEvent")
class TrackedTOTPDevice(TOTPDevice):
    class Meta:
        proxy = True


@pghistory.track(
    pghistory.InsertEvent(),
    pghistory.DeleteEvent(),
    pghistory.ManualEvent("backup_code_used"),
    fields=["user", "name"],
    model_name="StaticDeviceEvent",
)
class TrackedStaticDevice(StaticDevice):
    class Meta:
        proxy = True
