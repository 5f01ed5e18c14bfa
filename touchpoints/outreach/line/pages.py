"""LINE on the staff pages: the panel on the customer page, the segment condition (linked / not / blocked),
the unlinked contacts staff link by hand, and the month's quota shown before a broadcast."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.cache import cache
from django.db.models import Exists, JSONField, OuterRef, Q, Subquery
from django.db.models.functions import JSONObject
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from customers.models import Customer
from customers.segments import SegmentCondition

from . import client as line
from .events import line_user_link, line_user_unlink
from .models import LineUser

logger = logging.getLogger(__name__)

QUOTA_CACHE_SECONDS = 60


# --- The customer page ------------------------------------------------------------------------------


PANEL_FIELDS = ("id", "display_name", "following", "blocked", "linked_at", "followed_at")


def line_panel_annotations() -> dict[str, Any]:
    """The customer's LINE link, read inside the page's customer query (customers/panels.py): no query of its own."""
    linked = LineUser.objects.filter(customer=OuterRef("pk"), provider=line.provider()).order_by("-linked_at", "-id")
    row = JSONObject(**{name: name for name in PANEL_FIELDS})
    return {"line_panel_row": Subquery(linked.values_list(row)[:1], output_field=JSONField())}


def line_panel_context(request: HttpRequest, customer: Customer) -> dict[str, Any] | None:
    if hasattr(customer, "line_panel_row"):
        row = customer.line_panel_row
        user = None
        if row:
            user = LineUser(
                pk=row["id"],
                customer=customer,
                display_name=row["display_name"],
                following=bool(row["following"]),
                blocked=bool(row["blocked"]),
                linked_at=_when(row["linked_at"]),
                followed_at=_when(row["followed_at"]),
            )
    else:
        user = LineUser.objects.filter(customer=customer, provider=line.provider()).first()
    return {"line_user": user, "line_configured": line.configured()}


def _when(value: Any) -> dt.datetime | None:
    return parse_datetime(value) if isinstance(value, str) else value


@login_required
@permission_required("outreach.change_lineuser", raise_exception=True)
@require_POST
def line_unlink(request: HttpRequest, pk: int) -> HttpResponse:
    user = get_object_or_404(LineUser, pk=pk, customer__isnull=False)
    customer_id = user.customer_id
    line_user_unlink(line_user=user)
    messages.success(request, _("The LINE account is no longer linked."))
    return redirect("customers:detail", pk=customer_id)


# --- Unlinked contacts ------------------------------------------------------------------------------


class LinkByHandForm(forms.Form):
    customer = forms.IntegerField(label=gettext_lazy("Customer number"), min_value=1)

    def clean_customer(self) -> Customer:
        customer = Customer.objects.filter(pk=self.cleaned_data["customer"]).first()
        if customer is None:
            raise forms.ValidationError(_("There is no customer with this number."))
        return customer


@login_required
@permission_required("outreach.view_lineuser", raise_exception=True)
def line_contacts(request: HttpRequest) -> HttpResponse:
    contacts = LineUser.objects.filter(customer__isnull=True).order_by("-last_message_at", "-id")[:100]
    return render(request, "outreach/line_contacts.html", {"contacts": contacts, "form": LinkByHandForm()})


@login_required
@permission_required("outreach.change_lineuser", raise_exception=True)
@require_POST
def line_contact_link(request: HttpRequest, pk: int) -> HttpResponse:
    contact = get_object_or_404(LineUser, pk=pk, customer__isnull=True)
    form = LinkByHandForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect("outreach:line_contacts")
    line_user_link(line_user=contact, customer=form.cleaned_data["customer"])
    logger.info("LINE: user=%s linked by hand by staff=%s", contact.pk, request.user.pk)
    messages.success(request, _("The LINE contact is linked."))
    return redirect("customers:detail", pk=form.cleaned_data["customer"].pk)


# --- Quota ------------------------------------------------------------------------------------------


def quota() -> dict[str, Any] | None:
    """This month's LINE quota: {"limit": n or None (unlimited), "used": n, "left": n or None}; None when LINE is
    not configured or does not answer. Read at most once a minute."""
    if not line.configured():
        return None
    cached = cache.get("line:quota")
    if cached is not None:
        return cached
    try:
        with line.Client(timeout=5) as api:
            limit, used = api.quota()
    except line.LineError as exc:
        logger.warning("LINE: quota unavailable: %s", exc)
        return None
    answer = {"limit": limit, "used": used, "left": None if limit is None else max(0, limit - used)}
    cache.set("line:quota", answer, QUOTA_CACHE_SECONDS)
    return answer


def reachable_exists() -> Exists:
    """Whether the customer (the outer row) is one a LINE message reaches: linked (on this provider), following,
    not blocked. An expression, to annotate where a filter cannot hold it (inside an aggregate)."""
    users = LineUser.objects.filter(customer=OuterRef("pk"), provider=line.provider(), following=True, blocked=False)
    return Exists(users)


def reachable_q() -> Q:
    """Customers a LINE message reaches: linked (on this provider), following, not blocked."""
    return Q(reachable_exists())


# --- The segment condition --------------------------------------------------------------------------


def _line_q(value: str) -> Q:
    linked = LineUser.objects.filter(customer=OuterRef("pk"), provider=line.provider())
    return {
        "reachable": reachable_q(),
        "linked": Q(Exists(linked)),
        "not_linked": ~Q(Exists(linked)),
        "blocked": Q(Exists(linked.filter(blocked=True))),
    }[value]


def line_segment_condition() -> SegmentCondition:
    return SegmentCondition(
        key="line",
        label=gettext_lazy("LINE"),
        field=lambda: forms.ChoiceField(
            choices=[
                ("", "—"),
                ("reachable", gettext_lazy("Linked and following")),
                ("linked", gettext_lazy("Linked")),
                ("not_linked", gettext_lazy("Not linked")),
                ("blocked", gettext_lazy("Blocked the LINE account")),
            ],
            widget=forms.Select(attrs={"class": "form-select"}),
        ),
        to_q=_line_q,
        order=45,
    )
