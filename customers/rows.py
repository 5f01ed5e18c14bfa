"""The customer table's rows (the customer list and the insights drill-down), written in Python in one pass.

A row used to be a template included once per customer, and its tags, filters, translations and lookups cost most
of a list page's time. ``customer_rows_html`` writes the same ``<tr>`` for each customer: labels translated once per
page, the detail URL reversed once and filled per row, an owner's name and a tag's badge worked out once per page,
the phone formatted once per distinct number, every value escaped. The table's head is
``customers/includes/_customer_head.html``; the customers come from ``CustomerQuerySet.for_list()`` (owner and
activity joined, tags prefetched), so writing the rows costs no query.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib.humanize.templatetags.humanize import naturaltime
from django.urls import reverse
from django.utils import dateformat
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from .models import Customer
from .names import staff_name
from .phones import format_phone

# One customer: the markup of the row template it replaces (templates/customers/includes/_customer_head.html names
# the seven columns). Every value is escaped before it is written in; {kana} and {flag} are markup or nothing.
ROW_HTML = """
<tr data-customer="{pk}">
  <td>
    <a href="{url}" class="fw-semibold">{name}</a>
    {kana}
  </td>
  <td>{email}{flag}</td>
  <td class="text-nowrap">{phone}</td>
  <td>{company}</td>
  <td>{tags}</td>
  <td>{owner}</td>
  <td class="text-nowrap small">{last_activity}</td>{value}
</tr>"""
VALUE_HTML = '\n  <td class="small drill-value">{}</td>'
KANA_HTML = '<div class="kana">{}</div>'
DO_NOT_CONTACT_HTML = ' <span class="badge text-bg-danger">{}</span>'
CONSENT_HTML = ' <i class="bi bi-envelope-check text-success" title="{0}" aria-label="{0}"></i>'
TAG_HTML = '<span class="badge text-bg-{} tag-badge me-1">{}</span>'
NO_OWNER_HTML = '<span class="text-body-secondary">—</span>'


class DateTimeFormat:
    """``django.utils.dateformat.format`` with its format string parsed once per page instead of once per value."""

    def __init__(self, format_string: str) -> None:
        self.pieces = [
            (True, piece) if i % 2 else (False, dateformat.re_escaped.sub(r"\1", piece))
            for i, piece in enumerate(dateformat.re_formatchars.split(str(format_string)))
            if i % 2 or piece
        ]

    def __call__(self, value: dt.datetime) -> str:
        df = dateformat.DateFormat(value)
        return "".join(str(getattr(df, piece)()) if spec else piece for spec, piece in self.pieces)


def escape_value(value: Any) -> str:
    """``conditional_escape`` without its check for lazy arguments, which costs more than the escaping itself when it
    runs hundreds of times a page: safe values as they are, anything else through ``html.escape`` (as Django does)."""
    if hasattr(value, "__html__"):
        return value.__html__()
    return html.escape(str(value))


def customer_rows_html(
    customers: Iterable[Customer], *, show_consent: bool = False, values: Mapping[int, str] | None = None
) -> SafeString:
    """The ``<tr>`` of each customer, in the current language.

    ``show_consent`` marks those who consent to marketing email (the customer list; not the drill-down). A customer
    who must not be contacted is marked instead, either way. ``values`` (customer id -> text) adds a last column: what
    the customer counts for in a drill-down's figure (their score, their spend), "—" for one without.
    """
    esc = escape_value
    do_not_contact = DO_NOT_CONTACT_HTML.format(conditional_escape(_("Do not contact")))
    consent = CONSENT_HTML.format(conditional_escape(_("Consents to marketing email"))) if show_consent else ""
    detail_prefix = esc(reverse("customers:detail", args=[1]).removesuffix("1/"))
    display_name = Customer.display_name.fget
    owners: dict[int, str] = {}
    tag_badges: dict[tuple[str, str], str] = {}
    phones: dict[str, str] = {}

    def owner_cell(customer: Customer) -> str:
        if customer.owner_id is None:
            return NO_OWNER_HTML
        name = owners.get(customer.owner_id)
        if name is None:
            owner = customer.owner
            name = owners[customer.owner_id] = esc(staff_name(owner))
        return name

    def tag_badge(tag: Any) -> str:
        key = (tag.color, tag.name)
        badge = tag_badges.get(key)
        if badge is None:
            badge = tag_badges[key] = TAG_HTML.format(esc(tag.color), esc(tag.name))
        return badge

    def phone_cell(phone: str) -> str:
        cell = phones.get(phone)
        if cell is None:
            cell = phones[phone] = esc(format_phone(phone))
        return cell

    def tags(customer: Customer) -> list[Any]:
        # The prefetched tags as they are: ``customer.tags.all()`` builds a related manager per row to find them.
        prefetched = getattr(customer, "_prefetched_objects_cache", {})
        return prefetched["tags"] if "tags" in prefetched else customer.tags.all()

    def row(c: Customer) -> str:
        kana = c.kana_name
        if c.do_not_contact:
            flag = do_not_contact
        elif c.marketing_consent:
            flag = consent
        else:
            flag = ""
        return ROW_HTML.format(
            pk=int(c.pk),
            url=f"{detail_prefix}{int(c.pk)}/",
            name=esc(display_name(c)),
            kana=KANA_HTML.format(esc(kana)) if kana else "",
            email=esc(c.email),
            flag=flag,
            phone=phone_cell(c.phone),
            company=esc(c.company),
            tags="".join(tag_badge(t) for t in tags(c)),
            owner=owner_cell(c),
            # As ``{{ c.last_activity_at|naturaltime }}``: the filter takes the time as it is (not in local time).
            last_activity=esc(naturaltime(c.last_activity_at)),
            value="" if values is None else VALUE_HTML.format(esc(values.get(c.pk, "—"))),
        )

    # Every value above is escaped, or is markup written here with escaped values in it.
    return mark_safe("".join(row(c) for c in customers))  # noqa: S308
