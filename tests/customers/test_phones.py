"""Phone numbers: the fast path for plainly written numbers gives what phonenumbers' full parse gives."""

from __future__ import annotations

import random

import phonenumbers
import pytest
from django.core.exceptions import ValidationError

from customers import phones


def full_parse(raw: str, region: str) -> str | None:
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def shapes(r: random.Random, count: int) -> list[str]:
    """National, +81, other country codes, the international call prefix 010, bare digits; with separators."""
    heads = ["90", "80", "70", "60", "50", "20", "3", "6", "45", "120", "800", "570", "990", "11", "0", "00", "81"]
    out = []
    for _ in range(count):
        national = r.choice(heads) + "".join(r.choice("0123456789") for _ in range(r.randint(4, 10)))
        raw = r.choice(["0", "0", "+81", "+", "010", ""]) + national
        for _ in range(r.randint(0, 3)):
            cut = r.randint(1, len(raw) - 1)
            raw = raw[:cut] + r.choice("- ") + raw[cut:]
        out.append(raw)
    return out


@pytest.mark.parametrize("region", ["JP", "GB"])
def test_plain_numbers_take_the_fast_path_and_agree_with_the_full_parse(region):
    # given: thousands of numbers of every shape, valid and not
    numbers = shapes(random.Random(f"phones:{region}"), 8000)

    # when / then: whenever the fast path answers, its answer is the full parse's; it answers for most valid ones
    answered = 0
    for raw in numbers:
        fast = phones._plain_e164(raw.strip(), region)
        if fast is not None:
            answered += 1
            assert fast == full_parse(raw, region), raw
    if region == "JP":
        assert answered > 300


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("090-1234-5678", "+819012345678"),
        ("03 1234 5678", "+81312345678"),
        ("+81 90-1234-5678", "+819012345678"),
        ("０９０-１２３４-５６７８", "+819012345678"),  # full-width digits: the full parse
        ("010-1-212-555-0123", "+12125550123"),  # the international call prefix: the full parse
        ("090-1234-5678 ext. 12", "+819012345678"),  # an extension: the full parse (which drops it from E.164)
    ],
)
def test_normalize_phone_reads_the_usual_ways_of_writing_a_number(raw, expected):
    assert phones.normalize_phone(raw, region="JP") == expected


@pytest.mark.parametrize("raw", ["090-0234-5678", "12345", "03-1234-567"])
def test_normalize_phone_refuses_invalid_numbers(raw):
    with pytest.raises(ValidationError):
        phones.normalize_phone(raw, region="JP")
