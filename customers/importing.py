"""CSV import of customers: validate every row first (the preview), then write all rows in one transaction.

The uploaded file is kept on an ``ImportBatch``. Applying it validates the stored content again against the
database as it is then, so a preview that went stale cannot write a bad row. Rows are matched to existing
customers by ``external_id`` when the row has one, else by email (ignoring case), with a few bulk queries.

Speed matters (a shop system's export holds tens of thousands of customers): cells are checked by small
functions rather than ``full_clean``, slow checks are remembered (a phone number parsed for the preview is
not parsed again to apply), keys are looked up in bulk, and new rows are written with PostgreSQL's COPY
(``bulk_create`` on other databases).
"""

from __future__ import annotations

import csv
import functools
import io
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import IntegrityError, connection, models, transaction
from django.db.models import F, Lookup
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from . import services
from .models import Customer, ImportBatch
from .phones import normalize_phone

logger = logging.getLogger(__name__)

COLUMNS: list[str] = [
    "external_id",
    "email",
    "family_name",
    "given_name",
    "family_name_kana",
    "given_name_kana",
    "phone",
    "birth_date",
    "company",
    "postal_code",
    "region",
    "city",
    "address_line1",
    "address_line2",
    "country",
    "preferred_channel",
    "preferred_language",
    "source",
    "tags",
    "marketing_consent",
    "consent_evidence",
    "do_not_contact",
    "owner",
]

# A cell starting with one of these is exported with a leading "'" (formula-injection guard); the importer
# removes that quote again, so an exported file re-imports unchanged.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

UPDATE_BATCH_SIZE = 1000  # rows per UPDATE statement (bulk_update)
INSERT_BATCH_SIZE = 2000  # rows per INSERT statement where COPY is not available
LOOKUP_CHUNK_SIZE = 5000  # keys per IN (...) lookup, where one array parameter is not available
PHONE_CACHE_SIZE = 50_000  # valid phone numbers remembered per process (about 11 MB when full)

_UNSET = object()  # an empty cell in a column that cannot be emptied: the default when creating, else unchanged
_TRUE = frozenset({"true", "yes", "1", "はい", "y", "t"})
_FALSE = frozenset({"false", "no", "0", "いいえ", "n", "f"})
_DATE = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})")
_COUNTRY = re.compile(r"[A-Z]{2}")
# Addresses this pattern accepts, Django's EmailValidator accepts too; anything else is left to Django's.
_PLAIN_EMAIL = re.compile(
    r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\.[a-z]{2,63}"
)
_validate_email = EmailValidator()
_HEADER_NAMES = frozenset(COLUMNS)
# Columns copied onto the model as they are; tags, owner and the consent columns are handled apart.
_PLAIN_FIELDS = [c for c in COLUMNS if c not in {"tags", "owner", "marketing_consent", "consent_evidence"}]


class _CellError(Exception):
    """A cell's value is not acceptable; the message is shown after the column name."""


class _FileError(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line, self.message = line, message


@functools.lru_cache(maxsize=PHONE_CACHE_SIZE)
def _normalize_phone(raw: str, region: str) -> str:
    """normalize_phone, remembered: parsing a number is the slowest check, and applying repeats the preview's."""
    return normalize_phone(raw, region=region)


# --- Cells: each column's cleaner takes the stripped, non-empty text and returns the value ----------------


def _cleaners(*, today: date) -> dict[str, tuple[Callable[[str], Any], Any]]:
    """column -> (cleaner, value of an empty cell). Cleaners raise _CellError; slow checks are memoised."""
    region = settings.PHONENUMBER_DEFAULT_REGION
    dates: dict[str, date] = {}
    tag_lists: dict[str, list[str]] = {}

    def text(name: str) -> Callable[[str], str]:
        limit = Customer._meta.get_field(name).max_length

        def clean(raw: str) -> str:
            if len(raw) > limit:
                raise _CellError(
                    _("Use at most %(limit)d characters (this has %(length)d).") % {"limit": limit, "length": len(raw)}
                )
            return raw

        return clean

    def email(raw: str) -> str:
        raw = raw.lower()
        if len(raw) > 254:
            raise _CellError(_("Enter a valid email address."))
        if not _PLAIN_EMAIL.fullmatch(raw):
            try:
                _validate_email(raw)
            except ValidationError:
                raise _CellError(_("Enter a valid email address.")) from None
        return raw

    def phone(raw: str) -> str:
        try:
            return _normalize_phone(raw, region)
        except ValidationError as exc:
            raise _CellError(exc.messages[0]) from None

    def birth_date(raw: str) -> date:
        try:
            return dates[raw]
        except KeyError:
            pass
        match = _DATE.fullmatch(raw)
        try:
            if match is None:
                raise ValueError(raw)
            value = date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            raise _CellError(_("Enter a date as YYYY-MM-DD or YYYY/MM/DD.")) from None
        if value > today or value.year < 1900:
            raise _CellError(_("This birth date is not plausible."))
        dates[raw] = value
        return value

    def country(raw: str) -> str:
        raw = raw.upper()
        if not _COUNTRY.fullmatch(raw):
            raise _CellError(_("Use a two-letter ISO 3166 code, e.g. JP."))
        return raw

    def choice(choices: type[models.TextChoices]) -> Callable[[str], str]:
        values = {str(v).lower(): str(v) for v in choices.values}
        message = _("Use one of: %(choices)s.") % {"choices": ", ".join(sorted(values.values()))}

        def clean(raw: str) -> str:
            try:
                return values[raw.lower()]
            except KeyError:
                raise _CellError(message) from None

        return clean

    def boolean(raw: str) -> bool:
        lowered = raw.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise _CellError(_("Use true or false (also yes/no, 1/0, はい/いいえ)."))

    def tags(raw: str) -> list[str]:
        try:
            return tag_lists[raw]
        except KeyError:
            pass
        names: dict[str, str] = {}
        for part in raw.replace("|", ";").split(";"):
            name = " ".join(part.split())
            if len(name) > 50:
                raise _CellError(_("A tag name has at most 50 characters: %(name)s") % {"name": name})
            if name:
                names.setdefault(name.lower(), name)
        tag_lists[raw] = result = list(names.values())
        return result

    def owner(raw: str) -> str:
        return raw  # a staff username, resolved with the rest of the file in one query

    cleaners = {
        "external_id": (text("external_id"), ""),
        "email": (email, ""),
        "family_name": (text("family_name"), _UNSET),
        "given_name": (text("given_name"), ""),
        "family_name_kana": (text("family_name_kana"), ""),
        "given_name_kana": (text("given_name_kana"), ""),
        "phone": (phone, ""),
        "birth_date": (birth_date, None),
        "company": (text("company"), ""),
        "postal_code": (text("postal_code"), ""),
        "region": (text("region"), ""),
        "city": (text("city"), ""),
        "address_line1": (text("address_line1"), ""),
        "address_line2": (text("address_line2"), ""),
        "country": (country, _UNSET),
        "preferred_channel": (choice(Customer.Channel), _UNSET),
        "preferred_language": (choice(Customer.Language), _UNSET),
        "source": (choice(Customer.Source), _UNSET),
        "tags": (tags, []),
        "marketing_consent": (boolean, _UNSET),
        "consent_evidence": (text("consent_evidence"), ""),
        "do_not_contact": (boolean, _UNSET),
        "owner": (owner, None),
    }
    assert list(cleaners) == COLUMNS
    return cleaners


# --- Reading the file -----------------------------------------------------------------------------------


@dataclass
class _Row:
    line: int
    values: dict[str, Any]
    errors: list[str] = field(default_factory=list)
    customer: Customer | None = None  # the existing customer this row updates; None for a new one
    unreadable: bool = False  # the cells could not be matched to the columns


@dataclass
class _Plan:
    encoding: str = ""
    columns: list[str] = field(default_factory=list)
    rows: list[_Row] = field(default_factory=list)
    file_errors: list[dict[str, Any]] = field(default_factory=list)
    owners: dict[str, int] = field(default_factory=dict)

    @property
    def errors(self) -> list[dict[str, Any]]:
        row_errors = [{"line": r.line, "errors": r.errors} for r in self.rows if r.errors]
        return sorted(self.file_errors + row_errors, key=lambda e: e["line"])

    @property
    def created(self) -> list[_Row]:
        return [r for r in self.rows if r.customer is None and not r.errors]

    @property
    def updated(self) -> list[_Row]:
        return [r for r in self.rows if r.customer is not None and not r.errors]


def _decode(content: bytes) -> tuple[str, str]:
    if content.startswith(b"\xef\xbb\xbf"):
        return content[3:].decode("utf-8"), "utf-8-sig"
    try:
        return content.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return content.decode("cp932"), "cp932"


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    """(first physical line, cells) for each CSV record; a quoted cell may span several lines."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    while True:
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise _FileError(line, _("This line is not valid CSV (%(reason)s).") % {"reason": exc}) from None
        yield line, cells


def _check_header(header: list[str]) -> list[str]:
    names = [c.strip().lower() for c in header]
    errors = []
    unknown = [n or '""' for n in names if n not in _HEADER_NAMES]
    if unknown:
        errors.append(
            _("Unknown columns: %(unknown)s. Accepted columns: %(columns)s.")
            % {"unknown": ", ".join(unknown), "columns": ", ".join(COLUMNS)}
        )
    repeated = sorted({n for n in names if n and names.count(n) > 1})
    if repeated:
        errors.append(_("Columns named more than once: %(columns)s.") % {"columns": ", ".join(repeated)})
    return errors


def _parse(content: bytes, *, limit: int | None = None) -> _Plan:
    """Decode, check the header and clean every cell (no database access)."""
    plan = _Plan()
    try:
        text, plan.encoding = _decode(content)
    except UnicodeDecodeError:
        plan.file_errors.append({"line": 1, "errors": [_("The file is neither UTF-8 nor Shift_JIS text.")]})
        return plan
    if (nul := text.find("\x00")) >= 0:
        message = _("The file contains NUL characters: save it as CSV (UTF-8 or Shift_JIS).")
        plan.file_errors.append({"line": text.count("\n", 0, nul) + 1, "errors": [message]})
        return plan
    records = _records(text)
    try:
        header_line, header = next(((n, cells) for n, cells in records if "".join(cells).strip()), (1, None))
        if header is None:
            plan.file_errors.append({"line": 1, "errors": [_("The file is empty.")]})
            return plan
        if header_errors := _check_header(header):
            plan.file_errors.append({"line": header_line, "errors": header_errors})
            return plan
        plan.columns = [c.strip().lower() for c in header]
        _read_rows(plan, records, limit=limit)
    except _FileError as exc:
        plan.file_errors.append({"line": exc.line, "errors": [exc.message]})
    if not plan.rows and not plan.file_errors:
        plan.file_errors.append({"line": 1, "errors": [_("The file has a header but no customer rows.")]})
    return plan


def _read_rows(plan: _Plan, records: Iterator[tuple[int, list[str]]], *, limit: int | None) -> None:
    cleaners = _cleaners(today=timezone.localdate())
    columns = [(index, column, *cleaners[column]) for index, column in enumerate(plan.columns)]
    width = len(columns)
    rows = plan.rows
    for line, cells in records:
        if len(cells) != width:
            if not "".join(cells).strip():
                continue  # a blank line
            message = _("This line has %(found)d cells; the header has %(expected)d.")
            rows.append(
                _Row(line=line, values={}, errors=[message % {"found": len(cells), "expected": width}], unreadable=True)
            )
            continue
        values: dict[str, Any] = {}
        errors: list[str] = []
        blank = True
        for index, column, clean, empty in columns:
            raw = cells[index].strip()
            if not raw:
                value = empty
            else:
                blank = False
                if raw[0] == "'" and raw[1:2] in FORMULA_PREFIXES:
                    raw = raw[1:].strip()
                try:
                    value = clean(raw) if raw else empty
                except _CellError as exc:
                    errors.append(f"{column}: {exc}")
                    continue
            if value is not _UNSET:
                values[column] = value
        if blank:
            continue  # a line of empty cells, as spreadsheets leave at the end
        rows.append(_Row(line=line, values=values, errors=errors))
        if limit is not None and len(rows) >= limit:
            return


# --- Matching rows to the database -----------------------------------------------------------------------


class _Any(Lookup):
    """``lhs = ANY(%s)`` with the keys as one array parameter: far cheaper than IN (...) with thousands."""

    lookup_name = "any"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(%s)", (*params, self.rhs)


def _matching(queryset: models.QuerySet, expression: Any, keys: list[str]) -> Iterator[Any]:
    """The rows of ``queryset`` whose ``expression`` is one of ``keys``: one query on PostgreSQL (one scan)."""
    if connection.vendor == "postgresql":
        if keys:
            yield from queryset.filter(_Any(expression, keys))
        return
    for start in range(0, len(keys), LOOKUP_CHUNK_SIZE):
        chunk = keys[start : start + LOOKUP_CHUNK_SIZE]
        yield from queryset.alias(match_key=expression).filter(match_key__in=chunk)


def _existing_customers(plan: _Plan, *, for_update: bool) -> tuple[dict[str, Customer], dict[str, Customer]]:
    """Existing customers by external ID and by lower-case email: whole and locked to write, else the few
    fields that validation reads. Each customer is loaded once, however many keys find it."""
    ext_ids = list({r.values["external_id"] for r in plan.rows if r.values.get("external_id")})
    emails = list({r.values["email"] for r in plan.rows if r.values.get("email")})
    customers = Customer.objects.order_by("pk")
    if for_update:
        customers = customers.select_for_update(of=("self",))
    else:
        customers = customers.only("pk", "external_id", "email", "marketing_consent")
    # The unique indexes on external ID and LOWER(email) are partial (WHERE … <> ''): say so, or they go unused.
    by_pk = {c.pk: c for c in _matching(customers.exclude(external_id=""), F("external_id"), ext_ids)}
    by_ext = {c.external_id: c for c in by_pk.values()}
    with_email = customers.exclude(email="").values_list(Lower("email"), "pk")
    email_pks = dict(_matching(with_email, Lower("email"), emails))
    missing = [pk for pk in email_pks.values() if pk not in by_pk]
    by_pk.update((c.pk, c) for c in _matching(customers, F("pk"), missing))
    return by_ext, {email: by_pk[pk] for email, pk in email_pks.items()}


def _owners(plan: _Plan) -> dict[str, int]:
    names = list({r.values["owner"] for r in plan.rows if r.values.get("owner")})
    User = get_user_model()
    staff = User.objects.filter(is_active=True, is_staff=True).order_by().only("pk", User.USERNAME_FIELD)
    return {user.get_username(): user.pk for user in _matching(staff, F(User.USERNAME_FIELD), names)}


def _report_duplicates(rows: list[_Row], column: str) -> None:
    first: dict[str, _Row] = {}
    repeated: dict[str, list[_Row]] = {}
    for row in rows:
        if (value := row.values.get(column)) and (seen := first.setdefault(value, row)) is not row:
            repeated.setdefault(value, [seen]).append(row)
    for value, same in repeated.items():
        for row in same:
            others = ", ".join(str(r.line) for r in same if r is not row)
            row.errors.append(
                _("%(column)s: %(value)s is also on line %(lines)s.")
                % {"column": column, "value": value, "lines": others}
            )


def _resolve(plan: _Plan, *, for_update: bool = False, check_duplicates: bool = True) -> None:
    """Match rows to existing customers and add the errors that need the whole file or the database."""
    rows = [r for r in plan.rows if not r.unreadable]
    # A row whose key cells could not be read cannot be matched: spare it the errors that would follow.
    key_unreadable = {r.line for r in rows if any(e.startswith(("external_id:", "email:")) for e in r.errors)}
    if check_duplicates:
        _report_duplicates(rows, "external_id")
        _report_duplicates(rows, "email")
    by_ext, by_email = _existing_customers(plan, for_update=for_update)
    plan.owners = _owners(plan)
    claimed: dict[int, _Row] = {}
    for row in rows:
        values = row.values
        ext = values.get("external_id")
        email = values.get("email")
        with_email = by_email.get(email) if email else None
        target = None
        if ext:
            target = by_ext.get(ext)
            if target is None and with_email is not None:
                if with_email.external_id:
                    row.errors.append(
                        _("email: %(email)s belongs to customer #%(pk)s, who has another external ID.")
                        % {"email": email, "pk": with_email.pk}
                    )
                else:
                    target = with_email  # an existing customer without an external ID is given this one
            elif target is not None and with_email is not None and with_email.pk != target.pk:
                row.errors.append(
                    _("email: %(email)s already belongs to another customer (#%(pk)s).")
                    % {"email": email, "pk": with_email.pk}
                )
        elif email:
            target = with_email
        row.customer = target

        if target is None:
            has_family_name = "family_name" in values or any(e.startswith("family_name:") for e in row.errors)
            if not has_family_name and row.line not in key_unreadable:
                row.errors.append(_("family_name: This column is required for a new customer."))
        elif (first := claimed.setdefault(target.pk, row)) is not row:
            message = _("This row updates the same customer (#%(pk)s) as line %(line)s.")
            row.errors.append(message % {"pk": target.pk, "line": first.line})
            first.errors.append(message % {"pk": target.pk, "line": row.line})

        if (owner := values.get("owner")) and owner not in plan.owners:
            row.errors.append(_("owner: No active staff member has the username %(name)s.") % {"name": owner})
        if ("marketing_consent" in values or "email" in values) and row.line not in key_unreadable:
            consents = values.get("marketing_consent", target.marketing_consent if target is not None else False)
            if consents and not values.get("email", target.email if target is not None else ""):
                row.errors.append(_("marketing_consent: Marketing consent needs an email address to send to."))


def _validate(content: bytes, *, for_update: bool = False) -> _Plan:
    plan = _parse(content)
    if plan.rows:
        _resolve(plan, for_update=for_update)
    return plan


# --- Services --------------------------------------------------------------------------------------------


def import_batch_create(*, file_name: str, content: bytes, by: AbstractBaseUser | None) -> ImportBatch:
    """Validate an uploaded file and keep it as a batch: PREVIEWED if every row is good, else INVALID."""
    plan = _validate(content)
    errors = plan.errors
    batch = ImportBatch.objects.create(
        file_name=file_name[:255],
        content=content,
        encoding=plan.encoding,
        status=ImportBatch.Status.INVALID if errors else ImportBatch.Status.PREVIEWED,
        row_count=len(plan.rows),
        created_count=len(plan.created),
        updated_count=len(plan.updated),
        errors=errors,
        created_by=by if getattr(by, "pk", None) else None,
    )
    logger.info(
        "customer import previewed batch=%s rows=%s errors=%s by=%s",
        batch.pk,
        batch.row_count,
        len(errors),
        getattr(by, "pk", None),
    )
    return batch


def import_preview_rows(*, batch: ImportBatch, limit: int = 20) -> list[dict[str, Any]]:
    """The first rows as they would be written: {"line", "action", "values": {column: text}}, in file order."""
    plan = _parse(bytes(batch.content), limit=limit)
    _resolve(plan, check_duplicates=False)
    return [
        {
            "line": row.line,
            "action": "create" if row.customer is None else "update",
            "values": {column: _display(row.values.get(column)) for column in plan.columns},
        }
        for row in plan.rows[:limit]
    ]


def _display(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list):
        return "; ".join(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def import_batch_apply(*, batch: ImportBatch, by: AbstractBaseUser | None) -> ImportBatch:
    """Write every row of a previewed batch in one transaction, or nothing (ValidationError)."""
    stale: list[dict[str, Any]] = []
    try:
        with transaction.atomic():
            batch = ImportBatch.objects.select_for_update().get(pk=batch.pk)
            if batch.status == ImportBatch.Status.APPLIED:
                raise ValidationError(_("This import has already been applied."), code="applied")
            if batch.status != ImportBatch.Status.PREVIEWED:
                raise ValidationError(_("This file has errors: correct them and upload it again."), code="invalid")
            plan = _validate(bytes(batch.content), for_update=True)
            if plan.errors:
                # The customers changed since the preview: keep the new errors on the batch, write no customer.
                stale = batch.errors = plan.errors
                batch.status = ImportBatch.Status.INVALID
                batch.save(update_fields=["status", "errors"])
            else:
                _write(plan, file_name=batch.file_name)
                batch.status = ImportBatch.Status.APPLIED
                batch.applied_at = timezone.now()
                batch.row_count = len(plan.rows)
                batch.created_count = len(plan.created)
                batch.updated_count = len(plan.updated)
                batch.save(update_fields=["status", "applied_at", "row_count", "created_count", "updated_count"])
    except IntegrityError as exc:  # a concurrent write took an email or external ID of this file meanwhile
        raise ValidationError(
            _("Another customer took an email address or external ID of this file meanwhile: nothing was imported."),
            code="conflict",
        ) from exc
    if stale:
        raise ValidationError(
            _("The customers changed since the preview and %(count)d lines are now invalid: nothing was imported.")
            % {"count": len(stale)},
            code="stale",
        )
    logger.info(
        "customer import applied batch=%s created=%s updated=%s by=%s",
        batch.pk,
        batch.created_count,
        batch.updated_count,
        getattr(by, "pk", None),
    )
    return batch


# --- Writing ---------------------------------------------------------------------------------------------


def _write(plan: _Plan, *, file_name: str) -> None:
    now = timezone.now()
    evidence_default = f"CSV import {file_name}"[:300]
    created_rows, updated_rows = plan.created, plan.updated

    new = [_new_customer(row.values, plan.owners, now=now, evidence_default=evidence_default) for row in created_rows]
    _insert(Customer, new)

    changed: list[Customer] = []
    fields = {"name_sort", "search_text", "updated_at"}
    for row in updated_rows:
        values, customer = row.values, row.customer
        for name in _PLAIN_FIELDS:
            if name in values:
                setattr(customer, name, values[name])
                fields.add(name)
        if "owner" in values:
            customer.owner_id = plan.owners[values["owner"]] if values["owner"] else None
            fields.add("owner")
        if "marketing_consent" in values or "consent_evidence" in values:
            _update_consent(customer, values, now=now, evidence_default=evidence_default)
            fields.update({"marketing_consent", "consent_at", "consent_source", "consent_evidence"})
        customer.updated_at = now
        customer.derive_fields()
        changed.append(customer)
    _update(Customer, changed, sorted(fields))

    _write_tags(
        [(customer, row.values.get("tags", [])) for customer, row in zip(new, created_rows, strict=True)],
        [(row.customer, row.values["tags"]) for row in updated_rows if "tags" in row.values],
    )


def _new_customer(values: dict[str, Any], owners: dict[str, int], *, now: datetime, evidence_default: str) -> Customer:
    customer = Customer(
        **{name: values[name] for name in _PLAIN_FIELDS if name in values},
        consent_evidence=values.get("consent_evidence", ""),
        owner_id=owners[values["owner"]] if values.get("owner") else None,
        created_at=now,
        updated_at=now,
    )
    if "source" not in values:
        customer.source = Customer.Source.IMPORT
    if values.get("marketing_consent"):
        customer.marketing_consent = True
        customer.consent_at = now
        customer.consent_source = Customer.ConsentSource.IMPORT
        customer.consent_evidence = customer.consent_evidence or evidence_default
    customer.derive_fields()
    return customer


def _update_consent(customer: Customer, values: dict[str, Any], *, now: datetime, evidence_default: str) -> None:
    """A change of consent is dated; the proof of a standing opt-in is not erased by an empty cell."""
    was = customer.marketing_consent
    consents = values.get("marketing_consent", was)
    evidence = values.get("consent_evidence")
    if consents and not was:
        customer.marketing_consent = True
        customer.consent_at = now
        customer.consent_source = Customer.ConsentSource.IMPORT
        customer.consent_evidence = evidence or evidence_default
    elif was and not consents:
        customer.marketing_consent = False
        customer.consent_at = now
        if evidence is not None:
            customer.consent_evidence = evidence
    elif evidence or (evidence is not None and not consents):
        customer.consent_evidence = evidence


def _write_tags(created: list[tuple[Customer, list[str]]], updated: list[tuple[Customer, list[str]]]) -> None:
    """New customers get their tags; a tags cell on an updated row replaces that customer's tags."""
    through = Customer.tags.through
    for start in range(0, len(updated), LOOKUP_CHUNK_SIZE):
        chunk = [customer.pk for customer, _tags in updated[start : start + LOOKUP_CHUNK_SIZE]]
        through.objects.filter(customer_id__in=chunk).delete()
    wanted = created + updated
    names = {name for _customer, tags in wanted for name in tags}
    if not names:
        return
    tag_ids = {tag.name.lower(): tag.pk for tag in services.tags_get_or_create(list(names))}
    links = [(customer.pk, tag_ids[name.lower()]) for customer, tags in wanted for name in tags]
    if _copy_supported(through):
        _copy(through, ["customer_id", "tag_id"], links)
    else:
        through.objects.bulk_create([through(customer_id=c, tag_id=t) for c, t in links], batch_size=INSERT_BATCH_SIZE)


def _copy_supported(model: type[models.Model]) -> bool:
    """COPY sends Python values as they are: only on psycopg 3, for fields whose database value is the value."""
    if connection.vendor != "postgresql":
        return False
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    plain = (models.CharField, models.TextField, models.DateField, models.BooleanField, models.IntegerField)
    return is_psycopg3 and all(isinstance(f, (*plain, models.ForeignKey)) for f in model._meta.concrete_fields)


def _insert(model: type[models.Model], objs: list[models.Model]) -> None:
    """Insert ``objs`` and set their ids: with COPY on PostgreSQL (ids drawn from the sequence), else bulk_create."""
    if not objs:
        return
    if not _copy_supported(model):
        model._default_manager.bulk_create(objs, batch_size=INSERT_BATCH_SIZE)
        return
    meta = model._meta
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, meta.pk.column, len(objs)],
        )
        for obj, (pk,) in zip(objs, cursor.fetchall(), strict=True):
            obj.pk = pk
            obj._state.adding = False
    attnames = [f.attname for f in meta.concrete_fields]
    _copy(model, attnames, ([getattr(obj, name) for name in attnames] for obj in objs))


def _update(model: type[models.Model], objs: list[models.Model], names: list[str]) -> None:
    """Write the fields ``names`` of ``objs``: COPY into a temporary table and one UPDATE on PostgreSQL,
    else bulk_update (whose CASE WHEN per field and row costs milliseconds a row)."""
    if not objs:
        return
    if not _copy_supported(model):
        model._default_manager.bulk_update(objs, names, batch_size=UPDATE_BATCH_SIZE)
        return
    meta = model._meta
    quote = connection.ops.quote_name
    fields = [meta.pk, *(meta.get_field(name) for name in names)]
    columns = [quote(f.column) for f in fields]
    table, scratch, pk = quote(meta.db_table), quote(f"{meta.db_table}_import"), quote(meta.pk.column)
    attnames = [f.attname for f in fields]
    assignments = ", ".join(f"{c} = s.{c}" for c in columns[1:])
    # Only quoted names from the model's options go into these statements; the values travel by COPY.
    create = f"CREATE TEMPORARY TABLE {scratch} AS SELECT {', '.join(columns)} FROM {table} WITH NO DATA"  # noqa: S608
    update = f"UPDATE {table} AS t SET {assignments} FROM {scratch} AS s WHERE t.{pk} = s.{pk}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(create)
        _copy_into(scratch, columns, ([getattr(obj, name) for name in attnames] for obj in objs))
        cursor.execute(update)
        cursor.execute(f"DROP TABLE {scratch}")


def _copy(model: type[models.Model], attnames: list[str], rows: Iterable[Sequence[Any]]) -> None:
    quote = connection.ops.quote_name
    columns = [quote(model._meta.get_field(name).column) for name in attnames]
    _copy_into(quote(model._meta.db_table), columns, rows)


def _copy_into(table: str, columns: list[str], rows: Iterable[Sequence[Any]]) -> None:
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    # wrap_database_errors: a unique violation raises Django's IntegrityError, as from any other query.
    with connection.cursor() as cursor, connection.wrap_database_errors, cursor.cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)
