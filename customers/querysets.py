from __future__ import annotations

from collections.abc import Iterable

from django.db import connection, models
from django.db.models import Prefetch, Q
from django.db.models.functions import JSONObject, Lower
from django.utils.translation import gettext_lazy as _

from .names import person_name
from .pagination import Ordering
from .pgarray import pg_array
from .textfold import fold

# The only sorts the list accepts; anything else in ?sort= falls back to the default.
CUSTOMER_ORDERINGS: dict[str, Ordering] = {
    "-created": Ordering("created_at", descending=True),
    "created": Ordering("created_at", descending=False),
    "name": Ordering("name_sort", descending=False),
    "-name": Ordering("name_sort", descending=True),
    # The annotation of ``ordered_for_list``: the narrow activity table's index gives this order.
    "-last_activity": Ordering("last_activity", descending=True, tiebreak="activity__customer_id"),
    "last_activity": Ordering("last_activity", descending=False, tiebreak="activity__customer_id"),
}
DEFAULT_CUSTOMER_ORDERING = "-created"
# With a tag filter, "newest"/"oldest" read the tag's own index (see CustomerTag) through this annotation.
TAGGED_ORDERINGS: dict[str, Ordering] = {
    "-created": Ordering("tag_created", descending=True, row_compare=False),
    "created": Ordering("tag_created", descending=False, row_compare=False),
}


SEARCH_IDS_MAX = 200


def normalize_search(q: str) -> str:
    """Words separated by single spaces, folded as the stored keys are (``textfold``: widths, hiragana as katakana,
    lower case); a NUL (which PostgreSQL refuses in text) counts as a space."""
    return " ".join(fold(q.replace("\x00", " ")).split())


class CustomerQuerySet(models.QuerySet):
    def with_preferences(self) -> CustomerQuerySet:
        """Each channel x purpose cell's newest choice, as ``pref_<channel>_<purpose>`` ({allowed, at, source,
        evidence} or None), read in the customer's own query: one indexed subquery per cell on
        contact_preference_idx, portable (JSON objects exist on SQLite too). ``consent.preferences_grid`` reads it."""
        from .models import ContactPreference  # a cycle: customers.models imports this module for its managers

        cells = {}
        for channel in ContactPreference.Channel.values:
            for purpose in ContactPreference.Purpose.values:
                newest = (
                    ContactPreference.objects.filter(
                        customer_id=models.OuterRef("pk"), channel=channel, purpose=purpose
                    )
                    .order_by("-at", "-id")
                    .values(json=JSONObject(allowed="allowed", at="at", source="source", evidence="evidence"))[:1]
                )
                cells[f"pref_{channel}_{purpose}"] = models.Subquery(newest, output_field=models.JSONField())
        return self.annotate(**cells)

    def surviving(self, customer_id: int) -> CustomerQuerySet:
        """The customer with this id, or, if it was merged away, the customer it went into (through chains of
        merges): a link mailed to either record keeps working."""
        from .models import CustomerMerge  # a cycle: customers.models imports this module for its managers

        seen = set()
        while customer_id not in seen and len(seen) < 10:
            seen.add(customer_id)
            if self.filter(pk=customer_id).exists():
                return self.filter(pk=customer_id)
            merged_into = (
                CustomerMerge.objects.filter(merged_customer_id=customer_id)
                .values_list("customer_id", flat=True)
                .first()
            )
            if merged_into is None:
                break
            customer_id = merged_into
        return self.none()

    def search_ids(self, q: str) -> CustomerQuerySet:
        """The ids of up to ``SEARCH_IDS_MAX`` customers ``search(q)`` finds, as a subquery for the lists of other
        apps (the ticket queue, the members list): a common name reaches that many, a fuller one fewer."""
        return self.search(q).order_by().values("pk")[:SEARCH_IDS_MAX]

    def search(self, q: str) -> CustomerQuerySet:
        """Substring search over name, kana, email, phone, company and external ID.

        Matches ``search_text`` (derived on save, lower-case) with LIKE, which a trigram GIN index
        answers on PostgreSQL; a phone typed with dashes or spaces matches its digits. Queries of one
        or two characters match name and email prefixes through btree pattern indexes.
        """
        q = normalize_search(q)
        if not q:
            return self
        if len(q) < 3:
            # Trigrams need three characters: a short query matches the start of a name or email instead.
            return self.filter(
                Q(family_name__startswith=q)
                | Q(family_name__startswith=q[:1].upper() + q[1:])
                | Q(given_name__startswith=q)
                | Q(given_name__startswith=q[:1].upper() + q[1:])
                | Q(name_sort__startswith=q)
                | Q(email__startswith=q)
            )
        digits = "".join(ch for ch in q if ch.isdigit())
        condition = Q(search_text__contains=q)
        if len(digits) >= 4 and digits != q:
            condition |= Q(search_text__contains=digits)
        return self.filter(condition)

    def in_segment(self, segment) -> CustomerQuerySet:
        from .segments import rules_q  # a cycle: segments imports customers.models, which imports this module

        return self.filter(rules_q(segment.rules))

    def with_email(self, email: str) -> CustomerQuerySet:
        # ``exclude(email="")`` matches the partial unique index on LOWER(email), which otherwise goes unused.
        return self.exclude(email="").annotate(email_lower=Lower("email")).filter(email_lower=email.strip().lower())

    def sharing_contact(self, *, email: str = "", phone: str = "") -> CustomerQuerySet:
        """Customers reachable at this email (ignoring case) or this phone (E.164), as their main or other contact:
        the records a new or edited one may duplicate. Each match says which (``same_email``, ``same_phone``)."""
        email, q = (email or "").strip().lower(), Q()
        if email:
            q |= Q(email_lower=email) | Q(secondary_email_lower=email)
        if phone:
            q |= Q(phone=phone) | Q(secondary_phone=phone)
        if not q:
            return self.none()
        return self.annotate(
            email_lower=Lower("email"),
            secondary_email_lower=Lower("secondary_email"),
            same_email=models.ExpressionWrapper(
                Q(email_lower=email) | Q(secondary_email_lower=email) if email else Q(pk__in=[]),
                output_field=models.BooleanField(),
            ),
            same_phone=models.ExpressionWrapper(
                Q(phone=phone) | Q(secondary_phone=phone) if phone else Q(pk__in=[]),
                output_field=models.BooleanField(),
            ),
        ).filter(q)

    def filter_by(
        self,
        *,
        tag: int | None = None,
        owner: int | str | None = None,
        source: str = "",
        consent: str = "",
    ) -> CustomerQuerySet:
        qs = self
        if tag:
            qs = qs.filter(tag_links__tag_id=tag)
        if owner == "none":
            qs = qs.filter(owner__isnull=True)
        elif owner:
            qs = qs.filter(owner_id=owner)
        if source:
            qs = qs.filter(source=source)
        if consent == "yes":
            qs = qs.filter(marketing_consent=True, do_not_contact=False)
        elif consent == "no":
            qs = qs.filter(marketing_consent=False)
        elif consent == "dnc":
            qs = qs.filter(do_not_contact=True)
        return qs

    def ordered_for_list(self, sort: str, *, tag: int | None = None) -> tuple[CustomerQuerySet, Ordering]:
        """The queryset and keyset ordering for the list's ``sort``; with a tag filter, the tag's index leads."""
        if tag and sort in TAGGED_ORDERINGS:
            return self.annotate(tag_created=models.F("tag_links__customer_created_at")), TAGGED_ORDERINGS[sort]
        if sort in ("-last_activity", "last_activity"):
            # An inner join (every customer has its activity row), so the activity index can lead the plan.
            qs = self.filter(activity__isnull=False).annotate(last_activity=models.F("activity__last_activity_at"))
            return qs, CUSTOMER_ORDERINGS[sort]
        return self, CUSTOMER_ORDERINGS[sort]

    def existing_ids(self, ids: Iterable[int]) -> set[int]:
        """Which of ``ids`` are customers' ids (of all customers: call it on the manager). On PostgreSQL the ids go
        as one array parameter: a query with a placeholder for each of a thousand ids (an API batch) costs more to
        build than to run."""
        ids = list(ids)
        if not ids:
            return set()
        if connection.vendor != "postgresql":
            return set(self.filter(pk__in=ids).values_list("pk", flat=True))
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT id FROM {self.model._meta.db_table} WHERE id = ANY(%s::bigint[])", [pg_array(ids)])  # noqa: S608
            return {pk for (pk,) in cursor.fetchall()}

    def for_list(self) -> CustomerQuerySet:
        from .models import Tag  # a cycle: customers.models imports this module for its managers

        return self.select_related("owner", "activity").prefetch_related(
            Prefetch("tags", queryset=Tag.objects.only("id", "name", "color"))
        )


def filter_choices() -> dict[str, list[tuple]]:
    """Tags, staff owners and segments for the list's filter menus, in one query (a UNION).

    Each row is (kind, id, label, extra); a segment's extra is its rules as JSON, so the list can
    apply a chosen segment without another query.
    """
    import json

    from django.contrib.auth import get_user_model
    from django.db.models import CharField, Value
    from django.db.models.functions import Cast, Concat

    from .models import Segment, Tag  # a cycle: customers.models imports this module for its managers

    User = get_user_model()
    text = CharField()
    tags = Tag.objects.annotate(
        kind=Value("tag", output_field=text), label=Cast("name", text), extra=Value("", output_field=text)
    ).values_list("kind", "id", "label", "extra")
    owners = (
        User.objects.filter(is_active=True, is_staff=True)
        .annotate(
            kind=Value("owner", output_field=text),
            # The name's order depends on its script (customers.names), so the parts come out apart.
            label=Cast("username", text),
            extra=Concat("last_name", Value("\t"), "first_name", output_field=text),
        )
        .values_list("kind", "id", "label", "extra")
    )
    segments = Segment.objects.annotate(
        kind=Value("segment", output_field=text), label=Cast("name", text), extra=Cast("rules", text)
    ).values_list("kind", "id", "label", "extra")
    choices: dict[str, list[tuple]] = {"tag": [], "owner": [], "segment": []}
    rules: dict[int, dict] = {}
    for kind, pk, label, extra in tags.order_by().union(owners.order_by(), segments.order_by(), all=True):
        if kind == "owner":
            family, _tab, given = extra.partition("\t")
            label = person_name(family, given) or label
        choices[kind].append((pk, label))
        if kind == "segment":
            rules[pk] = json.loads(extra or "{}")
    for values in choices.values():
        values.sort(key=lambda item: item[1].lower())
    choices["segment_rules"] = rules  # type: ignore[assignment]
    return choices


class TagQuerySet(models.QuerySet):
    def with_customer_counts(self) -> TagQuerySet:
        return self.annotate(customer_count=models.Count("customers"))


# --- Duplicates -----------------------------------------------------------------------------------

DUPLICATE_RULES = [
    ("phone", _("Same phone number")),
    ("name_birth", _("Same name and birth date")),
    ("email", _("Same email (ignoring case)")),
]

MERGE_COMPARE_FIELDS = [
    "family_name",
    "given_name",
    "family_name_kana",
    "given_name_kana",
    "email",
    "phone",
    "secondary_email",
    "secondary_phone",
    "birth_date",
    "company",
    "postal_code",
    "region",
    "city",
    "address_line1",
    "address_line2",
    "external_id",
    "preferred_channel",
    "preferred_language",
    "source",
    "owner",
    "marketing_consent",
    "do_not_contact",
    "created_at",
]


def _duplicate_key(rule: str):
    from django.db.models import CharField, Value
    from django.db.models.functions import Cast, Concat

    if rule == "phone":
        return Cast("phone", CharField())
    if rule == "email":
        return Lower("email")
    return Concat(
        Lower("family_name"),
        Value("|"),
        Lower("given_name"),
        Value("|"),
        Cast("birth_date", CharField()),
        output_field=CharField(),
    )


def _duplicate_scope(rule: str):
    from .models import Customer  # a cycle: customers.models imports this module for its managers

    qs = Customer.objects.order_by()
    if rule == "phone":
        return qs.exclude(phone="")
    if rule == "email":
        return qs.exclude(email="")
    return qs.filter(birth_date__isnull=False)


def duplicate_groups(*, rule: str, after: str = "", limit: int = 25) -> dict:
    """Groups of likely duplicates under ``rule``, ``limit`` groups a page, in key order (two queries)."""
    key = _duplicate_key(rule)
    keys_qs = (
        _duplicate_scope(rule)
        .annotate(dup_key=key)
        .values("dup_key")
        .annotate(n=models.Count("id"))
        .filter(n__gt=1)
        .order_by("dup_key")
    )
    if after:
        keys_qs = keys_qs.filter(dup_key__gt=after)
    keys = [row["dup_key"] for row in keys_qs[: limit + 1]]
    more = len(keys) > limit
    keys = keys[:limit]
    members: dict[str, list] = {k: [] for k in keys}
    if keys:
        rows = (
            _duplicate_scope(rule)
            .annotate(dup_key=key)
            .filter(dup_key__in=keys)
            .select_related("owner")
            .order_by("dup_key", "created_at", "id")
        )
        for customer in rows:
            members[customer.dup_key].append(customer)
    return {"groups": [(k, members[k]) for k in keys], "next": keys[-1] if more and keys else ""}
