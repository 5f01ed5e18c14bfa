"""Phone numbers: parsed with ``phonenumbers`` and stored in E.164 (+819012345678)."""

from __future__ import annotations

import functools
import re

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from phonenumbers import PhoneMetadata


def normalize_phone(raw: str, *, region: str | None = None) -> str:
    """Return ``raw`` in E.164, or "" for blank input; raise ValidationError if it is not a valid number."""
    raw = (raw or "").strip()
    if not raw:
        return ""
    if (e164 := _plain_e164(raw, region or settings.PHONENUMBER_DEFAULT_REGION)) is not None:
        return e164
    try:
        number = phonenumbers.parse(raw, region or settings.PHONENUMBER_DEFAULT_REGION)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(_("Enter a valid phone number."), code="invalid_phone") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(_("Enter a valid phone number."), code="invalid_phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


_PLAIN = re.compile(r"\+?[0-9][0-9 -]*")  # digits with hyphens or spaces, as people and shop systems type them


# phonenumbers' _number_type_helper: a number of any of these types is valid (the commonest first).
_TYPES = ("mobile", "fixed_line", "toll_free", "voip", "premium_rate", "shared_cost", "personal_number", "pager")
_TYPES += ("uan", "voicemail")

_Desc = tuple[re.Pattern, frozenset[int]]  # a number type's pattern and lengths (empty: any length)


@functools.cache
def _region_rules(region: str) -> tuple[str, re.Pattern, re.Pattern | None, _Desc, list[_Desc]] | None:
    metadata = PhoneMetadata.metadata_for_region(region)
    if metadata is None or metadata.national_prefix != "0" or not metadata.national_prefix_for_parsing:
        return None
    idd = re.compile(metadata.international_prefix) if metadata.international_prefix else None

    def desc(number_desc) -> _Desc | None:
        if number_desc is None or not number_desc.national_number_pattern:
            return None
        return re.compile(number_desc.national_number_pattern), frozenset(number_desc.possible_length or ())

    general = desc(metadata.general_desc)
    types = [d for name in _TYPES if (d := desc(getattr(metadata, name))) is not None]
    if general is None:
        return None
    return str(metadata.country_code), re.compile(metadata.national_prefix_for_parsing), idd, general, types


def _matches(national: str, desc: _Desc) -> bool:
    pattern, lengths = desc
    return (not lengths or len(national) in lengths) and pattern.fullmatch(national) is not None


def _plain_e164(raw: str, region: str) -> str | None:
    """The E.164 form of a plainly written valid number, as ``phonenumbers.parse`` would give it, in a few
    microseconds instead of ~150 (a 100,000-row import parses 100,000 numbers): "0" + national number, or
    "+<country code>" + national number, of the default region. None for anything else (an international
    call prefix, letters, an extension, another country, an invalid number): the full parse decides those.
    tests/customers/test_phones.py compares both ways on many shapes of number."""
    if not _PLAIN.fullmatch(raw) or (rules := _region_rules(region)) is None:
        return None
    country_code, national_prefix, idd, general, types = rules
    digits = raw.replace("-", "").replace(" ", "")
    if digits[0] == "+":
        if not digits.startswith(country_code, 1):
            return None
        national = digits[1 + len(country_code) :]
    else:
        if idd is not None and idd.match(digits):
            return None
        # Only the plain national prefix "0" (no carrier code, no transform): the number after it.
        prefix = national_prefix.match(digits)
        if prefix is None or prefix.group(0) != "0" or any(g is not None for g in prefix.groups()):
            return None
        national = digits[1:]
    if not 2 <= len(national) <= 17 or national[0] == "0":
        return None
    if not _matches(national, general) or not any(_matches(national, desc) for desc in types):
        return None
    return f"+{country_code}{national}"


@functools.lru_cache(maxsize=4096)
def format_phone(e164: str) -> str:
    """Display form: national format for the default region, international otherwise."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    region = phonenumbers.region_code_for_number(number)
    fmt = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if region == settings.PHONENUMBER_DEFAULT_REGION
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(number, fmt)
