"""Reading an import file: decoding (UTF-8 or Shift_JIS), CSV records, the header, and each cell cleaned by its
column's small function (no database access).
"""

from __future__ import annotations

import codecs
import csv
import functools
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.fields import FILE_COLUMNS
from customers.models import Customer
from customers.phones import normalize_phone

COLUMNS: list[str] = FILE_COLUMNS
# A cell starting with one of these is exported with a leading "'" (formula-injection guard); the importer
# removes that quote again, so an exported file re-imports unchanged.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
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


@dataclass(slots=True)
class Row:
    line: int
    values: dict[str, Any]
    errors: list[str] = field(default_factory=list)
    customer: Customer | None = None  # the existing customer this row updates; None for a new one
    unreadable: bool = False  # the cells could not be matched to the columns


@dataclass
class Plan:
    encoding: str = ""
    columns: list[str] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    file_errors: list[dict[str, Any]] = field(default_factory=list)
    owners: dict[str, int] = field(default_factory=dict)

    @property
    def errors(self) -> list[dict[str, Any]]:
        row_errors = [{"line": r.line, "errors": r.errors} for r in self.rows if r.errors]
        return sorted(self.file_errors + row_errors, key=lambda e: e["line"])

    @property
    def created(self) -> list[Row]:
        return [r for r in self.rows if r.customer is None and not r.errors]

    @property
    def updated(self) -> list[Row]:
        return [r for r in self.rows if r.customer is not None and not r.errors]


DECODE_CHUNK_BYTES = 1 << 20  # the file is checked a megabyte at a time, never decoded whole


def _position(content: bytes, offset: int) -> dict[str, int]:
    line_start = content.rfind(b"\n", 0, offset) + 1
    return {"line": content.count(b"\n", 0, offset) + 1, "byte": offset - line_start + 1}


def _first_invalid(data: memoryview, codec: str) -> int | None:
    """The offset of the first byte ``data`` cannot be decoded at, or None: decoded in chunks, kept nowhere."""
    decoder = codecs.getincrementaldecoder(codec)()
    start = 0
    try:
        for start in range(0, len(data), DECODE_CHUNK_BYTES):
            decoder.decode(data[start : start + DECODE_CHUNK_BYTES])
        start = len(data)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        # exc.object is the bytes held back from the previous chunk (an unfinished character) plus this chunk.
        held = len(exc.object) - min(DECODE_CHUNK_BYTES, len(data) - start)
        return max(0, start - held + exc.start)
    return None


def _utf8_looks_intended(data: memoryview) -> bool:
    """Japanese in Shift_JIS is almost never valid UTF-8: a file whose other non-ASCII text is valid UTF-8
    is a UTF-8 file with a damaged byte, even when it happens to decode as cp932 (as garbled names)."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    valid = invalid = 0
    for start in range(0, len(data), DECODE_CHUNK_BYTES):
        text = decoder.decode(data[start : start + DECODE_CHUNK_BYTES], final=start + DECODE_CHUNK_BYTES >= len(data))
        bad = text.count("\ufffd")
        invalid += bad
        valid += len(text) - len(text.encode("ascii", errors="ignore")) - bad
    return valid > invalid


def _encoding(content: bytes) -> str:
    """Strictly: UTF-8 (with or without BOM) first; Shift_JIS (cp932) only for a file that is not UTF-8 at all
    and decodes as cp932 from end to end. Anything else is refused, naming the line and byte."""
    view = memoryview(content)
    bom = content.startswith(b"\xef\xbb\xbf")
    body = view[3:] if bom else view
    error_at = _first_invalid(body, "utf-8")
    if error_at is None:
        return "utf-8-sig" if bom else "utf-8"
    if not bom and not _utf8_looks_intended(body) and _first_invalid(view, "cp932") is None:
        return "cp932"
    where = _position(content, error_at + (3 if bom else 0))
    raise _FileError(
        where["line"],
        _(
            "The file is not valid UTF-8: byte %(byte)d of line %(line)d cannot be read. Save it again as "
            "UTF-8 (or Shift_JIS) and upload it again."
        )
        % where,
    )


def _records(stream: io.TextIOBase) -> Iterator[tuple[int, list[str]]]:
    """(first physical line, cells) for each CSV record; a quoted cell may span several lines."""
    reader = csv.reader(stream, strict=True)
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


def parse_stream(content: bytes) -> tuple[Plan, Iterator[Row]]:
    """The file's encoding and columns (or its file errors) in a Plan without rows, and its rows one by one,
    decoded as they are read. The iterator adds a late file error (a broken CSV line) to the plan itself."""
    plan = Plan()
    try:
        plan.encoding = _encoding(content)
        if (nul := content.find(b"\x00")) >= 0:
            message = _("The file contains NUL characters: save it as CSV (UTF-8 or Shift_JIS).")
            raise _FileError(content.count(b"\n", 0, nul) + 1, message)
        records = _records(io.TextIOWrapper(io.BytesIO(content), encoding=plan.encoding, newline=""))
        header_line, header = next(((n, cells) for n, cells in records if "".join(cells).strip()), (1, None))
        if header is None:
            raise _FileError(1, _("The file is empty."))
        if header_errors := _check_header(header):
            plan.file_errors.append({"line": header_line, "errors": header_errors})
            return plan, iter(())
    except _FileError as exc:
        plan.file_errors.append({"line": exc.line, "errors": [exc.message]})
        return plan, iter(())
    plan.columns = [c.strip().lower() for c in header]
    return plan, _rows(plan, records)


def no_rows_error(plan: Plan) -> None:
    if not plan.file_errors:
        plan.file_errors.append({"line": 1, "errors": [_("The file has a header but no customer rows.")]})


def parse(content: bytes, *, limit: int | None = None) -> Plan:
    """Decode, check the header and clean every cell (no database access); all rows, or the first ``limit``."""
    plan, rows = parse_stream(content)
    for row in rows:
        plan.rows.append(row)
        if limit is not None and len(plan.rows) >= limit:
            break
    if not plan.rows and plan.columns:
        no_rows_error(plan)
    return plan


def _rows(plan: Plan, records: Iterator[tuple[int, list[str]]]) -> Iterator[Row]:
    cleaners = _cleaners(today=timezone.localdate())
    columns = [(index, column, *cleaners[column]) for index, column in enumerate(plan.columns)]
    width = len(columns)
    try:
        for line, cells in records:
            if len(cells) != width:
                if not "".join(cells).strip():
                    continue  # a blank line
                message = _("This line has %(found)d cells; the header has %(expected)d.")
                yield Row(
                    line=line, values={}, errors=[message % {"found": len(cells), "expected": width}], unreadable=True
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
            yield Row(line=line, values=values, errors=errors)
    except _FileError as exc:
        plan.file_errors.append({"line": exc.line, "errors": [exc.message]})
