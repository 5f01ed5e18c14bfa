"""Reads of the loyalty app: each page's queryset is built from these methods."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import models
from django.db.models import Q, Sum
from django.utils import timezone

from customers.localtime import local_day_start
from customers.models import Customer
from customers.pagination import Ordering
from customers.textfold import fold

# The members list's only sort: newest members first, on membership_joined_idx (and the per-filter indexes).
MEMBERSHIP_ORDERING = Ordering("joined_at", descending=True)
LEDGER_ORDERING = Ordering("created_at", descending=True)

# Entries that count towards a tier: points earned on purchases, less those reversed by returns.
QUALIFYING_KINDS = ("earn", "reverse")


def twelve_months_before(day: dt.date) -> dt.datetime:
    """The start of the tier qualification window ending on ``day`` (business time zone)."""
    try:
        start = day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        start = day.replace(year=day.year - 1, day=28)
    return local_day_start(start + dt.timedelta(days=1))


class ProgrammeQuerySet(models.QuerySet):
    def active(self) -> ProgrammeQuerySet:
        return self.filter(is_active=True)


class RewardQuerySet(models.QuerySet):
    def available(self, at: dt.datetime | None = None) -> RewardQuerySet:
        at = at or timezone.now()
        return self.filter(
            Q(is_active=True),
            Q(stock__isnull=True) | Q(stock__gt=0),
            Q(available_from__isnull=True) | Q(available_from__lte=at),
            Q(available_until__isnull=True) | Q(available_until__gt=at),
        )

    def for_membership(self, membership: Any) -> RewardQuerySet:
        """Rewards of the membership's programme whose minimum tier the member has reached."""
        qs = self.filter(programme_id=membership.programme_id)
        position = membership.tier.position if membership.tier_id else 0
        return qs.filter(Q(min_tier__isnull=True) | Q(min_tier__position__lte=position))


class MembershipQuerySet(models.QuerySet):
    def for_customer(self, customer: Customer | int) -> MembershipQuerySet:
        return self.filter(customer=customer)

    def active(self) -> MembershipQuerySet:
        return self.filter(status="active")

    def filter_by(
        self, *, q: str = "", programme_id: int | None = None, tier_id: int | None = None, status: str = ""
    ) -> MembershipQuerySet:
        """The members list's whitelisted filters (validated by ``MemberFilterForm``). ``q`` is a member number,
        as read off a card (spaces, dashes and full-width digits allowed), or the customer's name, kana, email or
        phone: the customers' own search (``CustomerQuerySet.search``: its trigram and prefix indexes), the very
        condition the customer list filters on, as a semi-join. Not ``search_ids``: its cap of ids read in table
        order hid the members beyond it, and made PostgreSQL walk most memberships by joining date to find the
        few whose customers came first; uncapped, a common name walks the joining-date index and checks each
        customer by primary key until the page is full, a rare one starts from the search's index."""
        qs = self
        if q:
            number = "".join(ch for ch in fold(q) if ch.isdigit())
            if len(number) >= 6 and self.filter(member_number=number).exists():
                # A card's number, found through its unique index. Read apart from the customer search: an OR of
                # both cannot use either index and reads every membership.
                qs = qs.filter(member_number=number)
            else:
                qs = qs.filter(customer__in=Customer.objects.search(q).order_by().values("pk"))
        if programme_id:
            qs = qs.filter(programme_id=programme_id)
        if tier_id:
            qs = qs.filter(tier_id=tier_id)
        if status:
            qs = qs.filter(status=status)
        return qs

    def for_list(self) -> MembershipQuerySet:
        return self.select_related("customer", "programme", "tier")

    def for_panel(self) -> MembershipQuerySet:
        """With programme, tier and the next tier up (name and threshold), in one query."""
        return self.select_related("programme", "tier").annotate(**next_tier_annotations())


def next_tier_annotations(path: str = "") -> dict[str, models.Subquery]:
    """The next tier up (``next_tier_name``, ``next_tier_threshold``) of the membership at ``path`` (``""``, or
    ``"membership__"`` from a card), as annotations."""
    from .models import Tier  # models imports this module (its managers)

    next_tier = Tier.objects.filter(
        programme_id=models.OuterRef(f"{path}programme_id"),
        position__gt=models.functions.Coalesce(models.OuterRef(f"{path}tier__position"), 0),
    ).order_by("position")
    return {
        "next_tier_name": models.Subquery(next_tier.values("name")[:1]),
        "next_tier_threshold": models.Subquery(next_tier.values("threshold")[:1]),
    }


class LedgerEntryQuerySet(models.QuerySet):
    """The ledger is append-only: no deletes, and only a lot's ``remaining`` may change."""

    def update(self, **kwargs):
        if set(kwargs) - {"remaining"}:
            raise ValueError("Ledger entries are append-only: only what is left of a lot may change.")
        return super().update(**kwargs)

    def delete(self):
        raise ValueError("Ledger entries are append-only: they are never deleted.")

    delete.queryset_only = True

    def for_customer(self, customer: Customer | int) -> LedgerEntryQuerySet:
        return self.filter(membership__customer=customer)

    def for_timeline(self) -> LedgerEntryQuerySet:
        return self.select_related("membership__programme", "redemption__reward", "by")

    def open_lots(self) -> LedgerEntryQuerySet:
        """Lots with points left, the ones that expire first first (never-expiring ones last)."""
        return self.filter(remaining__gt=0).order_by(models.F("expires_on").asc(nulls_last=True), "id")

    def qualifying(self, *, since: dt.datetime) -> LedgerEntryQuerySet:
        return self.filter(kind__in=QUALIFYING_KINDS, redemption__isnull=True, created_at__gte=since)

    def card_figures(
        self, *, membership_id: int, since: dt.datetime, first_day: dt.date, last_day: dt.date
    ) -> tuple[int, Decimal, list[tuple[dt.date, int]]]:
        """(qualifying points, qualifying amount, [(day, points expiring that day)] from ``first_day`` to ``last_day``)
        of one membership, in one statement: the card reads them on every view, and two ORM aggregates cost it
        more in compiling and in round trips than the database spends on them (both use the ledger's indexes)."""
        from django.db import connection

        table = connection.ops.quote_name(self.model._meta.db_table)
        kinds = ", ".join(["%s"] * len(QUALIFYING_KINDS))
        sql = f"""
            SELECT NULL, SUM(points), SUM(amount) FROM {table}
            WHERE membership_id = %s AND created_at >= %s AND kind IN ({kinds}) AND redemption_id IS NULL
            UNION ALL
            SELECT expires_on, SUM(remaining), NULL FROM {table}
            WHERE membership_id = %s AND remaining > 0 AND expires_on >= %s AND expires_on <= %s
            GROUP BY expires_on
        """  # noqa: S608 (the table name is the model's; every value is a parameter)
        adapt_day, adapt_moment = connection.ops.adapt_datefield_value, connection.ops.adapt_datetimefield_value
        params = [membership_id, adapt_moment(since), *QUALIFYING_KINDS]
        params += [membership_id, adapt_day(first_day), adapt_day(last_day)]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        points, amount, days = 0, Decimal(0), []
        for day, total, money in rows:
            if day is None:
                points, amount = int(total or 0), Decimal(str(money or 0))
            else:  # SQLite answers dates as text
                days.append((dt.date.fromisoformat(day) if isinstance(day, str) else day, int(total)))
        return points, amount, sorted(days)

    def qualifying_totals(self, *, since: dt.datetime) -> dict[int, dict[str, Any]]:
        """{membership id: {"points": …, "amount": …}} over the window, one grouped query."""
        rows = (
            self.qualifying(since=since)
            .order_by()
            .values("membership_id")
            .annotate(points=Sum("points"), amount=Sum("amount"))
        )
        return {row["membership_id"]: row for row in rows}


class GreetingQuerySet(models.QuerySet):
    def for_customer(self, customer: Customer | int) -> GreetingQuerySet:
        return self.filter(customer=customer)

    def for_timeline(self) -> GreetingQuerySet:
        return self.select_related("membership__programme")

    def due(self, today: dt.date) -> GreetingQuerySet:
        return self.filter(status="scheduled", due_on__lte=today)
