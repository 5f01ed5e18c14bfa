"""Writes to customers, tags and notes. Views, admin, importers, the API and tasks all come here."""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, transaction
from django.db.models import ForeignKey, ManyToManyRel, ManyToOneRel, OneToOneRel, QuerySet
from django.db.models.functions import Lower
from django.forms.models import model_to_dict
from django.utils import timezone
from django.utils.translation import gettext as _

from . import events
from .fields import CONSENT_RECORD_FIELDS, SERVICE_FIELDS
from .models import Customer, CustomerActivity, CustomerMerge, CustomerTag, ImportBatch, Note, Segment, Tag
from .pgarray import pg_array
from .phones import normalize_phone

logger = logging.getLogger(__name__)


def _clean(data: dict[str, Any]) -> dict[str, Any]:
    unknown = set(data) - SERVICE_FIELDS
    if unknown:
        raise ValueError(f"unknown customer fields: {sorted(unknown)}")
    cleaned = dict(data)
    for key in (
        "email",
        "secondary_email",
        "external_id",
        "family_name",
        "given_name",
        "family_name_kana",
        "given_name_kana",
    ):
        if key in cleaned and cleaned[key] is not None:
            cleaned[key] = str(cleaned[key]).strip()
    for key in ("email", "secondary_email"):
        if key in cleaned:
            cleaned[key] = (cleaned[key] or "").lower()
    for key in ("phone", "secondary_phone"):
        if key in cleaned:
            try:
                cleaned[key] = normalize_phone(cleaned[key] or "")
            except ValidationError as exc:
                raise ValidationError({key: exc.messages}) from exc
    if "country" in cleaned and cleaned["country"]:
        cleaned["country"] = cleaned["country"].upper()
    return cleaned


def _check_unique(customer: Customer) -> None:
    others = Customer.objects.exclude(pk=customer.pk)
    errors = {}
    if customer.email and others.with_email(customer.email).exists():
        errors["email"] = _("Another customer already has this email address.")
    if customer.external_id and others.exclude(external_id="").filter(external_id=customer.external_id).exists():
        errors["external_id"] = _("Another customer already has this external ID.")
    if errors:
        raise ValidationError(errors)


def _apply_consent(customer: Customer, *, was_consenting: bool, now) -> None:
    """Keep the proof of opt-in honest: when consent changes, record when it happened."""
    if customer.marketing_consent and not was_consenting:
        customer.consent_at = now
        if not customer.consent_source:
            customer.consent_source = Customer.ConsentSource.VERBAL
    elif not customer.marketing_consent and was_consenting:
        customer.consent_at = now


@transaction.atomic
def customer_create(
    *, data: dict[str, Any], tags: list[Tag] | None = None, by: AbstractBaseUser | None = None
) -> Customer:
    cleaned = _clean(data)
    customer = Customer(**cleaned)
    _apply_consent(customer, was_consenting=False, now=timezone.now())
    if customer.marketing_consent and cleaned.get("consent_at"):
        customer.consent_at = cleaned["consent_at"]  # when the customer agreed, as the sender recorded it
    customer.full_clean(exclude=["owner", "tags"], validate_unique=False, validate_constraints=False)
    _check_unique(customer)
    try:
        with transaction.atomic():
            customer.save()
    except IntegrityError as exc:  # a concurrent insert won the race for the email or external ID
        raise ValidationError(_("Another customer already has this email address or external ID.")) from exc
    if tags:
        customer.tags.set(tags)
    logger.info("customer created id=%s by=%s", customer.pk, getattr(by, "pk", None))
    return customer


@transaction.atomic
def customer_update(
    *,
    customer: Customer,
    data: dict[str, Any],
    tags: list[Tag] | None = None,
    by: AbstractBaseUser | None = None,
    consent_reason: str = "",
) -> Customer:
    """Update the fields in ``data``. A staff member changing consent or do-not-contact gives ``consent_reason``
    (the form requires it), kept as a note by them on the customer's timeline: who, when, what and why."""
    cleaned = _clean(data)
    was_consenting, was_dnc = (
        Customer.objects.filter(pk=customer.pk).values_list("marketing_consent", "do_not_contact").get()
    )
    for key, value in cleaned.items():
        setattr(customer, key, value)
    _apply_consent(customer, was_consenting=was_consenting, now=timezone.now())
    customer.full_clean(exclude=["owner", "tags"], validate_unique=False, validate_constraints=False)
    _check_unique(customer)
    customer.save()
    if tags is not None:
        customer.tags.set(tags)
    changes = [
        f"{label}: {_('yes') if after else _('no')}"
        for label, before, after in (
            (_("marketing consent"), was_consenting, customer.marketing_consent),
            (_("do not contact"), was_dnc, customer.do_not_contact),
        )
        if before != after
    ]
    if changes and consent_reason.strip():
        body = _("Consent changed by staff (%(changes)s). Reason: %(reason)s") % {
            "changes": ", ".join(changes),
            "reason": consent_reason.strip(),
        }
        note_create(customer=customer, body=body, author=by)
    logger.info("customer updated id=%s by=%s", customer.pk, getattr(by, "pk", None))
    return customer


@transaction.atomic
def customer_upsert(
    *,
    data: dict[str, Any],
    create_defaults: dict[str, Any] | None = None,
    by: AbstractBaseUser | None = None,
    consent_frozen: bool = False,
) -> tuple[Customer, bool]:
    """Find the customer by ``external_id``, else by email (ignoring case), and update them, or create one
    (with ``create_defaults`` under ``data``). Returns (customer, created).

    Goes through customer_create and customer_update, so every customer rule applies. With ``consent_frozen`` (an
    API key: neither the customer nor a staff member), an existing customer's consent fields are refused unless
    they say what is recorded already: a key neither gives consent for a customer nor withdraws it.
    """
    external_id = (data.get("external_id") or "").strip()
    email = (data.get("email") or "").strip().lower()
    customer = None
    if external_id:
        customer = Customer.objects.filter(external_id=external_id).first()
    if customer is None and email:
        customer = Customer.objects.with_email(email).first()
        if customer is not None and external_id and customer.external_id and customer.external_id != external_id:
            raise ValidationError(
                {
                    "email": _("This email belongs to a customer with another external ID (%(id)s).")
                    % {"id": customer.external_id}
                }
            )
    if customer is not None:
        if consent_frozen:
            _refuse_consent_change(customer, data)
        return customer_update(customer=customer, data=data, by=by), False
    if not external_id and not email:
        raise ValidationError({"external_id": _("Give an external ID or an email to find or create the customer.")})
    if not str({**(create_defaults or {}), **data}.get("family_name") or "").strip():
        raise ValidationError({"family_name": _("No customer matches: send family_name to create one.")})
    try:
        with transaction.atomic():
            return customer_create(data={**(create_defaults or {}), **data}, by=by), True
    except ValidationError:
        # A concurrent request may have created the same customer a moment ago: update it instead.
        twin = Customer.objects.filter(external_id=external_id).first() if external_id else None
        if twin is None and email:
            twin = Customer.objects.with_email(email).first()
        if twin is None:
            raise
        if consent_frozen:
            _refuse_consent_change(twin, data)
        return customer_update(customer=twin, data=data, by=by), False


def _refuse_consent_change(customer: Customer, data: dict[str, Any]) -> None:
    changed = [key for key in CONSENT_RECORD_FIELDS if key in data and data[key] != getattr(customer, key)]
    if changed:
        message = _(
            "An existing customer's consent changes only by their own act (a sign-up form, an unsubscribe link) or "
            "by a staff member: not through the API. Leave this field out."
        )
        raise ValidationError(dict.fromkeys(changed, message))


@transaction.atomic
def customer_delete(*, customer: Customer, by: AbstractBaseUser | None = None) -> None:
    pk = customer.pk
    import_batches_forget_customer(customer_id=pk)
    customer.delete()
    logger.info("customer deleted id=%s by=%s", pk, getattr(by, "pk", None))


def customer_touch(*, customer_id: int, at=None) -> None:
    """Move the customer's last activity forward (never back); used by the apps that record activity."""
    at = at or timezone.now()
    CustomerActivity.objects.filter(customer_id=customer_id, last_activity_at__lt=at).update(last_activity_at=at)


def customer_touch_rewind(*, customer_id: int, at: dt.datetime, to: dt.datetime) -> None:
    """Take back the last activity an entry set when that entry is retracted (an undone call): only while it is still
    ``at``, so anything the customer did since is kept."""
    CustomerActivity.objects.filter(customer_id=customer_id, last_activity_at=at).update(last_activity_at=to)


def customers_touch(*, at_by_customer: dict[int, dt.datetime]) -> None:
    """``customer_touch`` for many customers at once: one UPDATE of the narrow activity table on PostgreSQL (a
    batch of a thousand customers rewrites a thousand two-column rows and one index), a loop elsewhere."""
    if not at_by_customer:
        return
    rows = sorted(at_by_customer.items())
    if connection.vendor != "postgresql":
        for customer_id, at in rows:
            customer_touch(customer_id=customer_id, at=at)
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE customers_customeractivity AS a SET last_activity_at = v.at"
            " FROM unnest(%s::bigint[], %s::timestamptz[]) AS v(id, at)"
            " WHERE a.customer_id = v.id AND a.last_activity_at < v.at",
            [pg_array(customer_id for customer_id, _ in rows), pg_array(at for _, at in rows)],
        )


@transaction.atomic
def note_create(*, customer: Customer, body: str, author: AbstractBaseUser | None) -> Note:
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": _("A note cannot be empty.")})
    note = Note.objects.create(customer=customer, body=body, author=author)
    customer_touch(customer_id=customer.pk, at=note.created_at)
    return note


@transaction.atomic
def tag_save(*, name: str, color: str = Tag.Color.GREY, description: str = "", tag: Tag | None = None) -> Tag:
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": _("A tag needs a name.")})
    if ";" in name or "|" in name:
        # They separate tags in CSV files: such a tag could not survive an export and re-import.
        raise ValidationError({"name": _("A tag name cannot contain ; or |.")})
    clash = Tag.objects.filter(name__iexact=name)
    if tag is not None:
        clash = clash.exclude(pk=tag.pk)
    if clash.exists():
        raise ValidationError({"name": _("A tag with this name already exists.")})
    tag = tag or Tag()
    tag.name, tag.color, tag.description = name, color, description
    tag.save()
    return tag


def tags_get_or_create(names: list[str]) -> list[Tag]:
    """Tags by name, ignoring case, creating the missing ones (used by imports and the API)."""
    wanted: dict[str, str] = {}
    for name in names:
        if name and name.strip():
            wanted.setdefault(" ".join(name.split()).lower(), " ".join(name.split()))
    if not wanted:
        return []

    def existing() -> dict[str, Tag]:
        found = Tag.objects.annotate(name_lower=Lower("name")).filter(name_lower__in=list(wanted))
        return {t.name.lower(): t for t in found}

    tags = existing()
    missing = [Tag(name=wanted[k]) for k in wanted if k not in tags]
    if missing:
        Tag.objects.bulk_create(missing, ignore_conflicts=True)
        tags = existing()
    return [tags[k] for k in wanted if k in tags]


# --- Merge ----------------------------------------------------------------------------------------

# Profile fields the kept record takes from the merged one when it has none of its own.
MERGE_FILL_FIELDS = [
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
    "owner_id",
    "external_id",
]
# The fields whose value staff choose, one by one, on the merge page ("owner" is the owner_id column). Consent is
# not chosen: the most recent recorded decision wins and do-not-contact on either side is kept.
MERGE_CHOICE_FIELDS = [
    "family_name",
    *MERGE_FILL_FIELDS,
    "preferred_channel",
    "preferred_language",
    "source",
]
# A contact the kept record does not take stays on it as its other email/phone rather than being dropped.
_SECONDARY_OF = {"email": "secondary_email", "phone": "secondary_phone"}


class MergeSide:
    PRIMARY = "primary"
    DUPLICATE = "duplicate"


def _merge_values(primary: Customer, duplicate: Customer, choices: dict[str, str]) -> tuple[dict[str, Any], list[str]]:
    """The kept record's new values: each chosen field from the side chosen, an empty field filled from the other
    side, and an email and phone of either side not chosen kept as the other contact. Returns the values and the
    contacts that found no room (a third email), which the merge's note keeps."""
    unknown = set(choices) - set(MERGE_CHOICE_FIELDS)
    if unknown or set(choices.values()) - {MergeSide.PRIMARY, MergeSide.DUPLICATE}:
        raise ValidationError(_("Unknown field or side in the merge choices."))
    values = {f: getattr(primary, f) for f in MERGE_CHOICE_FIELDS}
    for f in MERGE_CHOICE_FIELDS:
        theirs = getattr(duplicate, f)
        if choices.get(f) == MergeSide.DUPLICATE or (f not in choices and not values[f] and theirs):
            values[f] = theirs
    if not values["family_name"]:
        raise ValidationError(_("The kept record needs a family name."))
    leftovers: list[str] = []
    for main, other in _SECONDARY_OF.items():
        contacts: list[str] = []
        for value in (
            getattr(primary, main),
            getattr(duplicate, main),
            getattr(primary, other),
            getattr(duplicate, other),
        ):
            if value and value.lower() != (values[main] or "").lower() and value.lower() not in contacts:
                contacts.append(value.lower() if main == "email" else value)
        if not values[main] and contacts:
            values[main] = contacts.pop(0)
        values[other] = contacts[0] if contacts else ""
        leftovers += contacts[1:]
    return values, leftovers


@transaction.atomic
def customer_merge(
    *,
    primary: Customer,
    duplicate: Customer,
    by: AbstractBaseUser | None = None,
    choices: dict[str, str] | None = None,
) -> CustomerMerge:
    """Fold ``duplicate`` into ``primary``: every related row moves, the merge is kept.

    ``choices`` (field -> ``"primary"``/``"duplicate"``, fields of ``MERGE_CHOICE_FIELDS``) says whose value the kept
    record takes, field by field; a field not chosen keeps the primary's value, or the duplicate's where the
    primary has none. The email and phone not taken become the kept record's other email and phone.

    Related rows are found through Django's model registry, so the apps above ``customers``
    (touchpoints, loyalty, feedback) are covered without being imported here. An app whose rows can
    clash when moved (one membership per programme) listens to ``events.customer_merging`` and
    resolves the clash first.
    """
    if primary.pk == duplicate.pk:
        raise ValidationError(_("A customer cannot be merged into itself."))
    # Lock both rows in id order so two merges of the same pair cannot interleave.
    locked = {
        c.pk: c for c in Customer.objects.select_for_update().filter(pk__in=[primary.pk, duplicate.pk]).order_by("pk")
    }
    if len(locked) != 2:
        raise ValidationError(_("One of these customers no longer exists."))
    primary, duplicate = locked[primary.pk], locked[duplicate.pk]
    fill, leftovers = _merge_values(primary, duplicate, choices or {})

    snapshot = model_to_dict(duplicate, exclude=["tags"])
    snapshot["tags"] = list(duplicate.tags.values_list("name", flat=True))
    snapshot["created_at"] = duplicate.created_at
    events.customer_merging.send(sender=Customer, primary=primary, duplicate=duplicate)

    moved: dict[str, int] = {}
    for rel in Customer._meta.related_objects:
        if isinstance(rel, ManyToManyRel):
            continue
        if isinstance(rel, OneToOneRel | ManyToOneRel) and isinstance(rel.field, ForeignKey):
            if rel.related_model in (CustomerMerge, CustomerTag, CustomerActivity):
                continue  # merges are re-pointed below; tags are a set; the activity is one row each, kept below
            n = rel.related_model._base_manager.filter(**{rel.field.name: duplicate}).update(
                **{rel.field.name: primary}
            )
            if n:
                moved[rel.related_model._meta.label] = n
    duplicate_tags = list(duplicate.tags.all())
    if duplicate_tags:
        primary.tags.add(*duplicate_tags)
        moved["customers.Tag"] = len(duplicate_tags)

    # Consent: the most recent recorded decision wins; do-not-contact on either side is kept.
    if duplicate.consent_at and (not primary.consent_at or duplicate.consent_at > primary.consent_at):
        for f in ("marketing_consent", "consent_at", "consent_source", "consent_evidence"):
            fill[f] = getattr(duplicate, f)
    fill["do_not_contact"] = primary.do_not_contact or duplicate.do_not_contact
    fill["created_at"] = min(primary.created_at, duplicate.created_at)
    last_activity_at = max(primary.last_activity_at, duplicate.last_activity_at)

    merge = CustomerMerge.objects.create(
        customer=primary,
        merged_customer_id=duplicate.pk,
        merged_data=_jsonable(snapshot),
        moved=moved,
        merged_by=by,
        choices=dict(choices or {}),
    )
    CustomerMerge.objects.filter(customer=duplicate).update(customer=primary)
    Note.objects.create(
        customer=primary,
        author=by,
        body=_("Merged record #%(id)s (%(name)s, %(email)s) into this customer.")
        % {"id": duplicate.pk, "name": duplicate.display_name, "email": duplicate.email or "—"}
        + (
            " " + _("Contacts not kept on the record: %(contacts)s.") % {"contacts": ", ".join(leftovers)}
            if leftovers
            else ""
        ),
    )
    duplicate.delete()  # frees its email and external ID for the kept record
    for key, value in fill.items():
        setattr(primary, key, value)
    _check_unique(primary)
    primary.save()
    customer_touch(customer_id=primary.pk, at=last_activity_at)
    events.customer_merged.send(sender=Customer, primary=primary, merged_customer_id=merge.merged_customer_id)
    logger.info("customer merged id=%s into id=%s by=%s", merge.merged_customer_id, primary.pk, getattr(by, "pk", None))
    return merge


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def _import_batches_forget(batches: QuerySet) -> int:
    """Previews never applied are deleted; applied imports keep their record (counts, who, when) but lose the
    uploaded content, which holds personal data."""
    deleted, _rows = batches.exclude(status=ImportBatch.Status.APPLIED).delete()
    batches.filter(status=ImportBatch.Status.APPLIED).exclude(content=b"").update(content=b"", customer_ids=[])
    return deleted


def import_batches_purge(*, older_than: dt.timedelta | None = None) -> int:
    """Delete uploads older than TSUNAGU_IMPORT_RETENTION_DAYS (see ``_import_batches_forget``)."""
    if older_than is None:
        older_than = dt.timedelta(days=settings.TSUNAGU_IMPORT_RETENTION_DAYS)
    return _import_batches_forget(ImportBatch.objects.filter(created_at__lt=timezone.now() - older_than))


def import_batches_forget_customer(*, customer_id: int) -> int:
    """A customer is erased: so are the uploads that hold a row of theirs. Few uploads are kept (a week's), so
    they are read here rather than indexed (SQLite cannot search inside a JSON list)."""
    kept = ImportBatch.objects.exclude(content=b"", status=ImportBatch.Status.APPLIED)
    ids = [pk for pk, customers in kept.values_list("pk", "customer_ids") if customer_id in customers]
    return _import_batches_forget(ImportBatch.objects.filter(pk__in=ids)) if ids else 0


# The trigram index behind search (migration 0002): a large import leaves its new entries in the index's pending
# list (``search_index_defer``), which costs about half as much as merging them row by row inside the import's
# transaction; ``search_index_flush`` merges them in one pass after commit. Searches read the pending list meanwhile,
# so they find every customer either way.
SEARCH_INDEX = "customer_search_trgm_idx"
SEARCH_PENDING_LIMIT = "1GB"  # far above what one import (TSUNAGU_IMPORT_MAX_BYTES) leaves pending


def search_index_defer() -> None:
    """For the rest of the caller's transaction, leave new search-index entries pending (PostgreSQL only)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('gin_pending_list_limit', %s, true)", [SEARCH_PENDING_LIMIT])


def search_index_flush() -> int:
    """Merge the search index's pending entries into the index: the pages it emptied (0 when nothing was pending,
    so running it twice changes nothing). Until then, the first ordinary insert would do it, and pay for it."""
    if connection.vendor != "postgresql":
        return 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT gin_clean_pending_list(%s::regclass)", [SEARCH_INDEX])
        (pages,) = cursor.fetchone()
    return pages


# --- Segments -------------------------------------------------------------------------------------


@transaction.atomic
def segment_save(
    *,
    name: str,
    rules: dict[str, Any],
    description: str = "",
    segment: Segment | None = None,
    by: AbstractBaseUser | None = None,
) -> Segment:
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": _("A segment needs a name.")})
    clash = Segment.objects.filter(name__iexact=name)
    if segment is not None:
        clash = clash.exclude(pk=segment.pk)
    if clash.exists():
        raise ValidationError({"name": _("A segment with this name already exists.")})
    segment = segment or Segment(created_by=by)
    segment.name, segment.description, segment.rules = name, description, rules
    segment.save()
    return segment


@transaction.atomic
def segment_from_customers(
    *, name: str, customer_ids: list[int], by: AbstractBaseUser | None = None, description: str = ""
) -> Segment:
    """Save a list of customers (those behind a figure, a filtered list) as a segment: the list of the moment,
    kept as a tag of the same name (staff see it on each customer, and may add or remove people by hand), with a
    segment on that tag. Nobody is added later by the list's filter: a figure's customers change every day."""
    segment_name = " ".join((name or "").split())
    if not segment_name:
        raise ValidationError({"name": _("A segment needs a name.")})
    if Segment.objects.filter(name__iexact=segment_name).exists():
        raise ValidationError({"name": _("A segment with this name already exists.")})
    tag = tag_save(
        name=segment_name[:50],
        description=_("Customers saved as the segment “%(name)s”.") % {"name": segment_name},
    )
    through = Customer.tags.through
    ids = sorted(set(Customer.objects.filter(pk__in=customer_ids).values_list("pk", flat=True)))
    for start in range(0, len(ids), 2000):
        through.objects.bulk_create(
            [through(customer_id=pk, tag_id=tag.pk) for pk in ids[start : start + 2000]], ignore_conflicts=True
        )
    logger.info("segment saved from a list of %d customers by=%s", len(ids), getattr(by, "pk", None))
    return segment_save(name=segment_name, rules={"tags": [tag.pk]}, description=description, by=by)
